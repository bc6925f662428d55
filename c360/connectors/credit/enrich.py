"""Credit enrichment: looking one customer up at a bureau, lawfully and within budget.

:func:`enrich_customer` (``c360 enrich CUSTOMER_ID``) and :func:`refresh_stale`
(the scheduler) go through :func:`lookup`, which, in this order:

1. refuses a purpose the source does not list;
2. refuses to look up a **person** without an active :class:`LegalBasis` for that
   customer and purpose (consent, a contract, a legal obligation... recorded with
   ``c360 consents add``), with a reason that says so;
3. answers from the cache when a result for the same subject and purpose has not
   expired (``ttl_s``; ``not_found_ttl_s`` for "no record");
4. refuses when the lookup's price would take the day's spending (China time)
   past ``daily_budget`` — the price is reserved in the ledger in the same
   locked transaction that checks it, so concurrent lookups cannot overspend;
5. waits for the rate limit (``lookups_per_s``, per process) and calls the bureau
   (its 429s and 5xx are retried by :mod:`c360.connectors.http`);
6. stores the result with its provider, request id, retrieval time and expiry;
   for an organization also its shareholders (:class:`OrgShareholder`, for graph
   edges) and its business registration as an organization record of the
   source's ``registrations`` stream, through the same ingest pipeline as every
   other record — all in one transaction with the ledger row and an audit entry.

Every attempt leaves a :class:`CreditLookup` row: ``charged``, ``cached``,
``refused_consent``, ``refused_budget`` or ``failed`` (with the reason, and its
reservation released). Identifiers are stored as keyed digests (:func:`subject_hash`)
and masked text.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, insert, or_, select, update

from c360.connectors.base import SourceConfigError, TransientSourceError
from c360.connectors.credit.bureau import Bureau, BureauAnswer, registration_record
from c360.connectors.credit.config import CreditConfig
from c360.connectors.http import RemoteApiError, Throttle
from c360.platform import tables as t
from c360.platform.audit import AuditEntry, append
from c360.platform.connector_tables import CreditLookup, CreditResult, LegalBasis, OrgShareholder
from c360.platform.customers.ids import survivor_of
from c360.platform.ingest import Ingestor, attach_orphan_events
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.normalize import NormalizationError, normalize_resident_id, normalize_uscc
from c360.platform.privacy.consent import record_basis, withdraw_basis
from c360.platform.privacy.masking import mask_id_number
from c360.platform.privacy.purposes import PURPOSES, catalogue_text
from c360.platform.privacy.restriction import is_restricted
from c360.platform.secret_keys import SUBJECT_KEY, load_key
from c360.platform.sources import get_source, list_sources
from c360.platform.tables import table_of

CHINA = ZoneInfo("Asia/Shanghai")
RESULTS = table_of(CreditResult)
SHAREHOLDERS = table_of(OrgShareholder)
LEDGER = table_of(CreditLookup)
BASES = table_of(LegalBasis)
LEGAL_BASES = ("consent", "contract", "legal_obligation", "public_interest", "public_record")
"""PIPL art. 13 grounds a lookup may rest on."""
_RESULT_FIELDS = ["credit_score", "credit_band", "court_listings"]
"""The fields of a bureau answer, as the audit log names them."""


class EnrichmentRefused(Exception):
    """A lookup that was not made, with the reason (no legal basis, budget spent,
    nothing to look up...)."""


class ConsentRequired(EnrichmentRefused):
    """No active legal basis or consent is recorded for this person and purpose."""


class BudgetExhausted(EnrichmentRefused):
    """The lookup would take the day's spending past the source's budget."""


@dataclass(slots=True)
class LookupOutcome:
    """What a lookup gave: a fresh or cached result row."""

    outcome: str  # charged | cached
    result: dict[str, Any]
    shareholders: list[dict[str, Any]]
    customer_id: int | None
    cost: float


def subject_hash(kind: str, subject_id: str, *, key: bytes | None = None) -> str:
    """The digest the cache and the ledger know a subject by: HMAC-SHA256 under the
    credit subject key (``C360_SUBJECT_KEY``, else ``<data dir>/keys/credit-subject-key``),
    so a digest read from the database cannot be reversed by trying the id numbers
    a known structure allows. Migration ``0006`` re-keyed the plain SHA-256
    digests of earlier versions."""
    message = f"c360-credit-subject:{kind}:{subject_id}".encode()
    return hmac.new(key or load_key(SUBJECT_KEY), message, hashlib.sha256).hexdigest()


def masked(kind: str, subject_id: str) -> str:
    """A USCC as is (it is public); a resident id with the one id-number mask
    (``1101**********123X``)."""
    if kind == "organization":
        return subject_id
    return mask_id_number(subject_id)


def china_day(now: datetime) -> str:
    return now.astimezone(CHINA).strftime("%Y-%m-%d")


_THROTTLES: dict[str, Throttle] = {}
_THROTTLES_GUARD = threading.Lock()


def _throttle(source_name: str, rate: float) -> Throttle:
    with _THROTTLES_GUARD:
        found = _THROTTLES.get(source_name)
        if found is None or abs(found.interval - 1.0 / rate) > 1e-9:
            found = _THROTTLES[source_name] = Throttle(rate)
        return found


# --------------------------------------------------------------------------- legal bases


def record_legal_basis(
    engine: Engine,
    customer_id: int,
    *,
    purpose: str,
    basis: str,
    evidence: str,
    recorded_by: str,
    expires_at: datetime | None = None,
) -> int:
    """Record why this customer may be looked up for ``purpose`` (a catalogue
    purpose); returns its id. The record is the platform's
    (:func:`c360.platform.privacy.consent.record_basis`), one for every read."""
    with write_transaction(engine) as conn:
        return record_basis(
            conn,
            customer_id,
            purpose=purpose.strip(),
            basis=basis,
            evidence=evidence,
            recorded_by=recorded_by,
            expires_at=expires_at,
        )


def revoke_legal_basis(engine: Engine, basis_id: int, *, revoked_by: str) -> None:
    """Withdraw a recorded basis (consent withdrawn): later lookups are refused."""
    with write_transaction(engine) as conn:
        withdraw_basis(conn, basis_id, revoked_by=revoked_by)


def list_legal_bases(engine: Engine, customer_id: int | None = None) -> list[dict[str, Any]]:
    """Recorded bases (of one customer, or all), newest first."""
    stmt = select(BASES).order_by(BASES.c.id.desc())
    if customer_id is not None:
        stmt = stmt.where(BASES.c.customer_id == customer_id)
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(stmt).mappings()]


def _group(conn: Connection, customer_id: int) -> list[int]:
    """The customer and every customer merged into it (a basis follows the person)."""
    ids = [customer_id]
    frontier = [customer_id]
    while frontier:
        merged = (
            conn.execute(select(t.customer.c.id).where(t.customer.c.merged_into.in_(frontier)))
            .scalars()
            .all()
        )
        frontier = [m for m in merged if m not in ids]
        ids.extend(frontier)
    return ids


def active_basis(
    conn: Connection, customer_id: int, purpose: str, now: datetime
) -> dict[str, Any] | None:
    """The active basis for this customer (or one merged into it) and purpose."""
    row = (
        conn.execute(
            select(BASES)
            .where(
                BASES.c.customer_id.in_(_group(conn, customer_id)),
                BASES.c.purpose == purpose,
                BASES.c.revoked_at.is_(None),
                or_(BASES.c.expires_at.is_(None), BASES.c.expires_at > now),
            )
            .order_by(BASES.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


# --------------------------------------------------------------------------- lookups


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


def _ledger(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(LEDGER).values(**values).returning(LEDGER.c.id)).scalar_one())


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
            _ledger(conn, **base, outcome=outcome, cost=0.0, reason=str(error))
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
        cached = _cached(engine, digest, purpose, now)
        if cached is not None:
            with write_transaction(engine) as conn:
                _ledger(conn, **base, outcome="cached", cost=0.0, result_id=cached["id"])
                # A cached answer is read as much as a fresh one: on record alike.
                append(
                    conn,
                    [
                        AuditEntry(
                            principal=actor,
                            action="credit.lookup.cached",
                            purpose=purpose,
                            customer_id=customer_id,
                            fields=_RESULT_FIELDS
                            + (["business_registration"] if cached.get("registration") else []),
                            detail={"source": name, "result_id": int(cached["id"])},
                        )
                    ],
                )
            return LookupOutcome(
                "cached", cached, _shareholders_of(engine, cached["id"]), customer_id, 0.0
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
            reservation = _ledger(conn, **base, outcome="charged", cost=cost)
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
    return _store(
        engine, name, config, answer, purpose, actor, customer_id, now, reservation, charged
    )


def _cached(engine: Engine, digest: str, purpose: str, now: datetime) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(RESULTS)
                .where(
                    RESULTS.c.subject_hash == digest,
                    RESULTS.c.purpose == purpose,
                    RESULTS.c.expires_at > now,
                )
                .order_by(RESULTS.c.retrieved_at.desc(), RESULTS.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
    return dict(row) if row is not None else None


def _shareholders_of(engine: Engine, result_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                select(SHAREHOLDERS)
                .where(SHAREHOLDERS.c.result_id == result_id)
                .order_by(SHAREHOLDERS.c.id)
            ).mappings()
        ]


def _shareholder_row(item: dict[str, Any]) -> dict[str, Any] | None:
    name = str(item.get("name") or "").strip()
    if not name:
        return None
    kind = str(item.get("type") or "person").lower()
    kind = "organization" if kind in {"enterprise", "organization", "company", "企业"} else "person"
    code = None
    if kind == "organization" and item.get("uscc"):
        try:
            code = normalize_uscc(item["uscc"])
        except NormalizationError:
            code = None
    ratio = item.get("ratio")
    return {
        "shareholder_name": name[:256],
        "shareholder_kind": kind,
        "shareholder_uscc": code,
        "share_ratio": float(ratio) if isinstance(ratio, int | float) else None,
        "subscribed_capital": str(item["subscribed"])[:64] if item.get("subscribed") else None,
    }


def _store(
    engine: Engine,
    name: str,
    config: CreditConfig,
    answer: BureauAnswer,
    purpose: str,
    actor: str,
    customer_id: int | None,
    now: datetime,
    reservation: int,
    cost: float,
) -> LookupOutcome:
    ttl = config.ttl_s if answer.found else config.not_found_ttl_s
    row = {
        "source_name": name,
        "provider": config.provider,
        "customer_id": customer_id,
        "subject_kind": answer.subject_kind,
        "subject_hash": subject_hash(answer.subject_kind, answer.subject_id),
        "subject_ref": masked(answer.subject_kind, answer.subject_id),
        "purpose": purpose[:64],
        "found": answer.found,
        "score": answer.score,
        "band": answer.band,
        "overdue_count": answer.overdue_count,
        "overdue_amount": answer.overdue_amount,
        "default_count": answer.default_count,
        "enforcements": answer.enforcements,
        "dishonest": answer.dishonest,
        "registration": answer.registration,
        "request_id": answer.request_id,
        "cost": cost,
        "retrieved_at": now,
        "expires_at": now + timedelta(seconds=ttl),
        "raw": _without_subject(answer.raw),
    }
    record = registration_record(answer)
    with write_transaction(engine) as conn:
        result_id = int(
            conn.execute(insert(RESULTS).values(**row).returning(RESULTS.c.id)).scalar_one()
        )
        holders = [h for h in (_shareholder_row(s) for s in answer.shareholders) if h]
        for holder in holders:
            holder.update(
                result_id=result_id,
                org_uscc=answer.subject_id,
                source_name=name,
                provider=config.provider,
                retrieved_at=now,
            )
        if holders:
            conn.execute(insert(SHAREHOLDERS), holders)
        if record is not None:
            Ingestor(name).ingest(conn, [record])
            attach_orphan_events(conn, name)
        conn.execute(
            update(LEDGER).where(LEDGER.c.id == reservation).values(result_id=result_id, cost=cost)
        )
        append(
            conn,
            [
                AuditEntry(
                    principal=actor,
                    action="credit.lookup",
                    purpose=purpose,
                    customer_id=customer_id,
                    fields=_RESULT_FIELDS
                    + (["business_registration"] if answer.registration else []),
                    detail={"source": name, "result_id": result_id, "found": answer.found},
                ),
            ],
        )
    row["id"] = result_id
    return LookupOutcome("charged", row, holders, customer_id, cost)


def _without_subject(raw: dict[str, Any]) -> dict[str, Any]:
    """The bureau's answer without the clear resident id (kept masked elsewhere)."""
    cleaned = dict(raw)
    subject = cleaned.get("subject")
    if isinstance(subject, dict) and "id_number" in subject:
        subject = dict(subject)
        subject.pop("id_number")
        cleaned["subject"] = subject
    return cleaned


@dataclass(slots=True)
class RefreshReport:
    """What one scheduled refresh of a credit source did."""

    source: str
    looked_up: int = 0
    cached: int = 0
    refused: int = 0
    failed: int = 0
    reasons: list[str] = field(default_factory=list)


def refresh_stale(
    engine: Engine,
    source_name: str,
    *,
    now: datetime | None = None,
    limit: int = 100,
    actor: str = "c360-scheduler",
) -> RefreshReport:
    """Look up again the customers whose latest result for a purpose has expired
    (their legal basis is checked again; refused ones are counted, not retried),
    and the watchlist's organizations; stops at the daily budget."""
    now = now or utcnow()
    name, config = credit_source(engine, source_name)
    report = RefreshReport(source=name)
    latest = (
        select(
            RESULTS.c.customer_id,
            RESULTS.c.subject_kind,
            RESULTS.c.purpose,
            func.max(RESULTS.c.expires_at).label("expires_at"),
        )
        .where(RESULTS.c.source_name == name, RESULTS.c.customer_id.is_not(None))
        .group_by(RESULTS.c.customer_id, RESULTS.c.subject_kind, RESULTS.c.purpose)
        .subquery()
    )
    with engine.connect() as conn:
        stale = conn.execute(
            select(latest.c.customer_id, latest.c.purpose)
            .where(latest.c.expires_at <= now)
            .order_by(latest.c.expires_at)
            .limit(limit)
        ).all()
    jobs: list[tuple[str, Any, str]] = [("customer", cid, purpose) for cid, purpose in stale]
    jobs += [("watch", code, config.watch_purpose) for code in config.watchlist]
    for what, subject, purpose in jobs[:limit]:
        try:
            if what == "customer":
                outcome = enrich_customer(
                    engine, subject, purpose=purpose, actor=actor, source_name=name, now=now
                )
            else:
                outcome = lookup(
                    engine,
                    "organization",
                    subject,
                    purpose=purpose,
                    actor=actor,
                    source_name=name,
                    now=now,
                )
        except BudgetExhausted as exc:
            report.refused += 1
            report.reasons.append(str(exc))
            break
        except EnrichmentRefused as exc:
            report.refused += 1
            report.reasons.append(str(exc))
            continue
        except (RemoteApiError, TransientSourceError, SourceConfigError) as exc:
            report.failed += 1
            report.reasons.append(str(exc))
            continue
        if outcome.outcome == "cached":
            report.cached += 1
        else:
            report.looked_up += 1
    return report
