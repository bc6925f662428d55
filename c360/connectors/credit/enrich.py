"""Credit enrichment: looking one customer up at a bureau, lawfully and within budget.

:func:`enrich_customer` (``c360 enrich CUSTOMER_ID``) and
:func:`~c360.connectors.credit.refresh.refresh_stale` (the scheduler) go through
:func:`lookup`, which, in this order:

1. refuses a purpose the source does not list;
2. refuses to look up a **person** without an active :class:`LegalBasis` for that
   customer and purpose (consent, a contract, a legal obligation... recorded with
   ``c360 consents add``; :mod:`.legal_bases`), with a reason that says so;
3. answers from the cache when a result for the same subject and purpose has not
   expired (``ttl_s``; ``not_found_ttl_s`` for "no record"; :mod:`.results`);
4. refuses when the lookup's price would take the day's spending (China time)
   past ``daily_budget`` — the price is reserved in the ledger in the same
   locked transaction that checks it, so concurrent lookups cannot overspend
   (:mod:`.ledger`);
5. waits for the rate limit (``lookups_per_s``, per process) and calls the bureau
   (its 429s and 5xx are retried by :mod:`c360.connectors.http`);
6. stores the result with its provider, request id, retrieval time and expiry;
   for an organization also its shareholders (:class:`OrgShareholder`, for graph
   edges) and its business registration as an organization record of the
   source's ``registrations`` stream, through the same ingest pipeline as every
   other record — all in one transaction with the ledger row and an audit entry
   (:func:`~.results.store_answer`).

Every attempt leaves a :class:`CreditLookup` row: ``charged``, ``cached``,
``refused_consent``, ``refused_budget`` or ``failed`` (with the reason, and its
reservation released). Identifiers are stored as keyed digests
(:func:`~.subjects.subject_hash`) and masked text.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.credit.bureau import Bureau
from c360.connectors.credit.config import CreditConfig
from c360.connectors.credit.ledger import LEDGER, china_day, ledger_row
from c360.connectors.credit.legal_bases import active_basis
from c360.connectors.credit.results import (
    RESULT_FIELDS,
    LookupOutcome,
    cached_result,
    shareholders_of,
    store_answer,
)
from c360.connectors.credit.subjects import subject_hash
from c360.connectors.http import RemoteApiError, Throttle
from c360.platform import tables as t
from c360.platform.audit import AuditEntry, append
from c360.platform.customers.ids import survivor_of
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.normalize import NormalizationError, normalize_resident_id, normalize_uscc
from c360.platform.privacy.purposes import PURPOSES, catalogue_text
from c360.platform.privacy.restriction import is_restricted
from c360.platform.sources import get_source, list_sources


class EnrichmentRefused(Exception):
    """A lookup that was not made, with the reason (no legal basis, budget spent,
    nothing to look up...)."""


class ConsentRequired(EnrichmentRefused):
    """No active legal basis or consent is recorded for this person and purpose."""


class BudgetExhausted(EnrichmentRefused):
    """The lookup would take the day's spending past the source's budget."""


_THROTTLES: dict[str, Throttle] = {}
_THROTTLES_GUARD = threading.Lock()


def _throttle(source_name: str, rate: float) -> Throttle:
    with _THROTTLES_GUARD:
        found = _THROTTLES.get(source_name)
        if found is None or abs(found.interval - 1.0 / rate) > 1e-9:
            found = _THROTTLES[source_name] = Throttle(rate)
        return found


def credit_source(engine: Engine, name: str | None = None) -> tuple[str, CreditConfig]:
    """The named credit source (or the only one) and its config."""
    if name is None:
        found = [s.name for s in list_sources(engine) if s.connector == "credit"]
        if not found:
            raise SourceConfigError("no credit source is configured (c360 sources add ...)")
        if len(found) > 1:
            raise SourceConfigError(f"several credit sources ({', '.join(found)}): name one")
        name = found[0]
    source = get_source(engine, name)
    if source.connector != "credit":
        raise SourceConfigError(f"source {name!r} is a {source.connector} source, not credit")
    return name, CreditConfig.model_validate(source.config)


def _resolve(conn: Connection, customer_id: int) -> tuple[int, str, dict[str, Any]]:
    """(surviving id, kind, golden attributes) of a customer, following merges."""
    current = survivor_of(conn, [customer_id]).get(customer_id)
    if current is None:
        raise EnrichmentRefused(f"no customer with id {customer_id}")
    kind = conn.execute(select(t.customer.c.kind).where(t.customer.c.id == current)).scalar_one()
    golden = conn.execute(
        select(t.golden_profile.c.attributes).where(t.golden_profile.c.customer_id == current)
    ).scalar_one_or_none()
    attributes = {k: (v or {}).get("value") for k, v in (golden or {}).items()}
    return current, str(kind), attributes


def enrich_customer(
    engine: Engine,
    customer_id: int,
    *,
    purpose: str,
    actor: str,
    source_name: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> LookupOutcome:
    """Look a customer up: a person by resident id number, an organization by USCC
    (from their golden profile). Raises :class:`EnrichmentRefused` (or a subclass)
    with the reason when the lookup is not made."""
    with engine.connect() as conn:
        survivor, kind, attributes = _resolve(conn, customer_id)
    subject = attributes.get("id_number") if kind == "person" else attributes.get("uscc")
    if not subject:
        what = "resident id number" if kind == "person" else "unified social credit code"
        raise EnrichmentRefused(
            f"customer {customer_id} ({kind}) has no {what} on record: nothing to look up"
        )
    return lookup(
        engine,
        kind,
        str(subject),
        purpose=purpose,
        actor=actor,
        customer_id=survivor,
        source_name=source_name,
        force=force,
        now=now,
    )


def lookup(
    engine: Engine,
    kind: str,
    subject_id: str,
    *,
    purpose: str,
    actor: str,
    customer_id: int | None = None,
    source_name: str | None = None,
    force: bool = False,
    now: datetime | None = None,
) -> LookupOutcome:
    """One lookup with every check (see the module docstring)."""
    name, config = credit_source(engine, source_name)
    now = now or utcnow()
    try:
        subject_id = (
            normalize_resident_id(subject_id).number
            if kind == "person"
            else normalize_uscc(subject_id)
        )
    except NormalizationError as exc:
        raise EnrichmentRefused(f"{exc.field}: {exc.reason}") from None
    digest = subject_hash(kind, subject_id)
    base = {
        "source_name": name,
        "day": china_day(now),
        "at": now,
        "actor": actor[:256],
        "customer_id": customer_id,
        "subject_kind": kind,
        "subject_hash": digest,
        "purpose": purpose[:64],
    }
    cost = config.person_cost if kind == "person" else config.organization_cost

    def refuse(error: EnrichmentRefused, outcome: str) -> EnrichmentRefused:
        with write_transaction(engine) as conn:
            ledger_row(conn, **base, outcome=outcome, cost=0.0, reason=str(error))
            append(
                conn,
                [
                    AuditEntry(
                        principal=actor,
                        action="credit.lookup.refused",
                        purpose=purpose,
                        customer_id=customer_id,
                        detail={"source": name, "subject_kind": kind, "reason": outcome},
                    )
                ],
            )
        return error

    if purpose not in PURPOSES:
        raise refuse(
            EnrichmentRefused(
                f"purpose {purpose!r} is not a catalogue purpose: declare one of {catalogue_text()}"
            ),
            "refused_purpose",
        )
    if purpose not in config.purposes:
        raise refuse(
            EnrichmentRefused(
                f"purpose {purpose!r} is not one source {name!r} may be used for; "
                f"allowed: {', '.join(config.purposes)}"
            ),
            "refused_purpose",
        )
    if customer_id is not None:
        with engine.connect() as conn:
            restricted = is_restricted(conn, customer_id)
        if restricted:
            raise refuse(
                EnrichmentRefused(
                    f"customer {customer_id}'s processing is restricted (PIPL art. 47): "
                    "stored only, not looked up"
                ),
                "refused_restricted",
            )
    if kind == "person":
        if customer_id is None:
            raise refuse(
                ConsentRequired("a person is only looked up as a customer with a legal basis"),
                "refused_consent",
            )
        with engine.connect() as conn:
            basis = active_basis(conn, customer_id, purpose, now)
        if basis is None:
            raise refuse(
                ConsentRequired(
                    f"no recorded legal basis or consent for purpose {purpose!r} for customer "
                    f"{customer_id}: a person is not looked up without one "
                    f"(record it with: c360 consents add {customer_id} --purpose {purpose} "
                    "--basis consent --evidence <where the signed consent is>)"
                ),
                "refused_consent",
            )
    if not force:
        cached = cached_result(engine, digest, purpose, now)
        if cached is not None:
            with write_transaction(engine) as conn:
                ledger_row(conn, **base, outcome="cached", cost=0.0, result_id=cached["id"])
                # A cached answer is read as much as a fresh one: on record alike.
                append(
                    conn,
                    [
                        AuditEntry(
                            principal=actor,
                            action="credit.lookup.cached",
                            purpose=purpose,
                            customer_id=customer_id,
                            fields=RESULT_FIELDS
                            + (["business_registration"] if cached.get("registration") else []),
                            detail={"source": name, "result_id": int(cached["id"])},
                        )
                    ],
                )
            return LookupOutcome(
                "cached", cached, shareholders_of(engine, cached["id"]), customer_id, 0.0
            )
    # reserve the price under the write lock, so concurrent lookups cannot overspend
    reservation = 0
    with write_transaction(engine) as conn:
        spent = float(
            conn.execute(
                select(func.coalesce(func.sum(LEDGER.c.cost), 0.0)).where(
                    LEDGER.c.source_name == name,
                    LEDGER.c.day == base["day"],
                    LEDGER.c.outcome == "charged",
                )
            ).scalar_one()
        )
        over = spent + cost > config.daily_budget + 1e-9
        if not over:
            reservation = ledger_row(conn, **base, outcome="charged", cost=cost)
    if over:
        raise refuse(
            BudgetExhausted(
                f"daily budget of {config.daily_budget:.2f} for source {name!r} would be "
                f"exceeded: {spent:.2f} spent today, a {kind} lookup costs {cost:.2f}"
            ),
            "refused_budget",
        )
    _throttle(name, config.lookups_per_s).wait()
    try:
        with Bureau(config) as bureau:
            answer = bureau.lookup(kind, subject_id, purpose)
    except (RemoteApiError, TransientSourceError, SourceConfigError) as exc:
        with write_transaction(engine) as conn:
            conn.execute(
                update(LEDGER)
                .where(LEDGER.c.id == reservation)
                .values(outcome="failed", cost=0.0, reason=str(exc)[:4000])
            )
        raise
    charged = answer.cost if answer.cost is not None else cost
    return store_answer(
        engine, name, config, answer, purpose, actor, customer_id, now, reservation, charged
    )
