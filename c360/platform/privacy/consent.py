"""Which customers a purpose is covered for: a standing legal basis of the
purpose (:mod:`~c360.platform.privacy.purposes`), or a recorded consent or
legal basis in the ``legal_basis`` table that is neither expired nor revoked.

Records follow the person: a basis recorded on an id later merged into a
customer covers the survivor too. Withdrawal is the ``revoked_at`` of the row
(``c360 consents revoke``); the row stays, so the table is the history. The
check reads the table on every request, so a withdrawal counts from the next
read on. A person whose processing is restricted is covered for nothing but
``legal_obligation`` (:mod:`~c360.platform.privacy.restriction`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, or_, select, update

from c360.platform import tables as t
from c360.platform.audit import AuditEntry, append
from c360.platform.connector_tables import LegalBasis
from c360.platform.customers.ids import absorbed_by
from c360.platform.models import utcnow
from c360.platform.privacy.purposes import (
    LEGAL_BASES,
    UnknownPurpose,
    bases_for,
    check_purpose,
    standing_basis,
)
from c360.platform.privacy.restriction import EXEMPT_PURPOSES, restricted_among
from c360.platform.rejections import FieldRejection
from c360.platform.tables import table_of

BASES = table_of(LegalBasis)
REJECTIONS = table_of(FieldRejection)


def covered_customers(
    conn: Connection, customer_ids: Iterable[int], purpose: str, now: datetime | None = None
) -> set[int]:
    """The ids among ``customer_ids`` for which ``purpose`` is covered now."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return set()
    if purpose not in EXEMPT_PURPOSES:
        # restricted: stored only (PIPL art. 47), no purpose covers them
        wanted = sorted(set(wanted) - restricted_among(conn, wanted))
    if standing_basis(purpose) is not None:
        return set(wanted)
    kinds = bases_for(purpose)
    if not kinds:
        return set()
    group = absorbed_by(conn, wanted)
    owner = {member: cid for cid in wanted for member in (group.get(cid) or [cid])}
    owner.update({cid: cid for cid in wanted})
    at = now or utcnow()
    rows = conn.execute(
        select(BASES.c.customer_id).where(
            BASES.c.customer_id.in_(sorted(owner)),
            BASES.c.purpose == purpose,
            BASES.c.basis.in_(kinds),
            BASES.c.revoked_at.is_(None),
            or_(BASES.c.expires_at.is_(None), BASES.c.expires_at > at),
        )
    ).scalars()
    return {owner[int(cid)] for cid in rows}


def is_covered(conn: Connection, customer_id: int, purpose: str) -> bool:
    return customer_id in covered_customers(conn, [customer_id], purpose)


def customer_exists(conn: Connection, customer_id: int) -> bool:
    found = conn.execute(select(t.customer.c.id).where(t.customer.c.id == customer_id))
    return found.scalar_one_or_none() is not None


class ConsentError(ValueError):
    """A consent or legal basis that cannot be recorded; the message names the field."""


def record_basis(
    conn: Connection,
    customer_id: int,
    *,
    purpose: str,
    basis: str,
    evidence: str,
    recorded_by: str,
    recorded_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> int:
    """Record a consent or another legal basis for ``purpose`` (a catalogue code)
    in ``conn``'s transaction, audited; returns its id."""
    try:
        check_purpose(purpose)
    except UnknownPurpose as exc:
        raise ConsentError(f"purpose: {exc}") from None
    if basis not in LEGAL_BASES:
        raise ConsentError(f"basis: {basis!r} is not one of {', '.join(LEGAL_BASES)}")
    if basis not in bases_for(purpose):
        raise ConsentError(
            f"basis: {basis!r} cannot cover purpose {purpose!r} "
            f"(one of: {', '.join(bases_for(purpose))})"
        )
    if not evidence.strip():
        raise ConsentError("evidence: say where the proof is (a form number, a contract, a file)")
    if not customer_exists(conn, customer_id):
        raise ConsentError(f"customer_id: no customer {customer_id}")
    basis_id = conn.execute(
        insert(BASES)
        .values(
            customer_id=customer_id,
            purpose=purpose,
            basis=basis,
            evidence=evidence.strip()[:512],
            recorded_by=recorded_by[:256],
            recorded_at=recorded_at or utcnow(),
            expires_at=expires_at,
        )
        .returning(BASES.c.id)
    ).scalar_one()
    append(
        conn,
        [
            AuditEntry(
                principal=recorded_by,
                action="legal_basis.record",
                purpose=purpose,
                customer_id=customer_id,
                detail={"basis": basis, "legal_basis_id": int(basis_id)},
            )
        ],
    )
    return int(basis_id)


def withdraw_basis(
    conn: Connection, basis_id: int, *, revoked_by: str, at: datetime | None = None
) -> bool:
    """Withdraw a recorded basis (effective from the next read); the row stays as
    history. False if it was already withdrawn; :class:`ConsentError` if unknown."""
    row = conn.execute(select(BASES).where(BASES.c.id == basis_id)).mappings().first()
    if row is None:
        raise ConsentError(f"basis_id: no legal basis {basis_id}")
    if row["revoked_at"] is not None:
        return False
    conn.execute(
        update(BASES)
        .where(BASES.c.id == basis_id)
        .values(revoked_at=at or utcnow(), revoked_by=revoked_by[:256])
    )
    append(
        conn,
        [
            AuditEntry(
                principal=revoked_by,
                action="legal_basis.revoke",
                purpose=row["purpose"],
                customer_id=row["customer_id"],
                detail={"legal_basis_id": basis_id},
            )
        ],
    )
    return True


def history(conn: Connection, customer_id: int) -> list[dict[str, Any]]:
    """Every basis ever recorded for the person (and ids merged into them),
    newest first, withdrawn ones included."""
    ids = [customer_id, *absorbed_by(conn, [customer_id]).get(customer_id, [])]
    stmt = select(BASES).where(BASES.c.customer_id.in_(ids)).order_by(BASES.c.id.desc())
    return [dict(row) for row in conn.execute(stmt).mappings()]


# --------------------------------------------------------------------------- the consent stream

CONSENT_EVENT = "consent"
"""The event type of a consent stream's records (fields: ``purpose``, ``action``
``granted`` | ``withdrawn``, ``basis`` (default consent), ``evidence``,
``occurred_at``, optionally ``expires_at``)."""


def apply_consent_events(
    conn: Connection, source_name: str, rows: list[dict[str, Any]], subjects: list[int | None]
) -> dict[int, str]:
    """Turn the ``consent`` events among ``rows`` (ingested event records, with
    the customer each names) into legal-basis history: a grant is recorded with
    the source's evidence and time, a withdrawal revokes every active basis of
    that customer and purpose at once. A record seen before is not applied twice
    (its evidence names it). Returns, per record id, why a consent event was not
    applied (bad purpose, basis or action; no customer yet)."""
    refused: dict[int, str] = {}
    seen_ids: list[int] = []
    for row, customer_id in zip(rows, subjects, strict=True):
        attrs = row["attributes"]
        if attrs.get("event_type") != CONSENT_EVENT:
            continue
        seen_ids.append(row["id"])
        if customer_id is None:
            refused[row["id"]] = "customer: the consent names no known customer"
            continue
        purpose = str(attrs.get("purpose") or "")
        action = str(attrs.get("action") or "granted").casefold()
        at = _moment(attrs.get("occurred_at"))
        reference = f"{source_name}/{row.get('stream', '')}/{row.get('external_id', row['id'])}"
        actor = f"source:{source_name}"
        try:
            if action == "withdrawn":
                check_purpose(purpose)
                active = conn.execute(
                    select(BASES.c.id).where(
                        BASES.c.customer_id == customer_id,
                        BASES.c.purpose == purpose,
                        BASES.c.revoked_at.is_(None),
                    )
                ).scalars()
                for basis_id in list(active):
                    withdraw_basis(conn, basis_id, revoked_by=actor, at=at)
            elif action == "granted":
                evidence = f"{reference}: {attrs.get('evidence') or 'as sent by the source'}"
                seen = conn.execute(
                    select(BASES.c.id).where(
                        BASES.c.customer_id == customer_id, BASES.c.evidence == evidence[:512]
                    )
                ).first()
                if seen is None:
                    record_basis(
                        conn,
                        customer_id,
                        purpose=purpose,
                        basis=str(attrs.get("basis") or "consent"),
                        evidence=evidence,
                        recorded_by=actor,
                        recorded_at=at,
                        expires_at=_moment(attrs.get("expires_at"), default=None),
                    )
            else:
                refused[row["id"]] = f"action: {action!r} is not granted or withdrawn"
        except ConsentError as exc:
            refused[row["id"]] = str(exc)
        except UnknownPurpose as exc:
            refused[row["id"]] = f"purpose: {exc}"
    _keep_reasons(conn, seen_ids, refused)
    return refused


def _keep_reasons(conn: Connection, seen_ids: list[int], refused: dict[int, str]) -> None:
    """A consent not applied is a refused value of its record (the event itself
    stays on the timeline): one ``field_rejection`` row with the reason, gone
    once a later pass applies it."""
    if not seen_ids:
        return
    rejections = REJECTIONS
    conn.execute(
        delete(rejections).where(
            rejections.c.record_id.in_(seen_ids), rejections.c.field == "consent"
        )
    )
    if not refused:
        return
    now = utcnow()
    conn.execute(
        insert(rejections),
        [
            {
                "record_id": rid,
                "field": "consent",
                "value": "",
                "reason": reason,
                "rejected_at": now,
            }
            for rid, reason in refused.items()
        ],
    )


_NOW = object()


def _moment(value: Any, default: Any = _NOW) -> datetime | None:
    """A consent's time as the source states it, never later than now."""
    now = utcnow()
    if value:
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            at = None
        if at is not None:
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            return min(at, now)
    return now if default is _NOW else default


def basis_row(conn: Connection, basis_id: int) -> dict[str, Any] | None:
    """One recorded basis, or ``None``."""
    row = conn.execute(select(BASES).where(BASES.c.id == basis_id)).mappings().first()
    return dict(row) if row is not None else None
