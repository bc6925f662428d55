"""Why a customer may be looked up at a credit bureau: the legal bases
(consent, a contract, a legal obligation...) recorded for a customer and
purpose, withdrawn, listed, and the active one found for a lookup (following
merges: a basis follows the person)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from c360.platform import tables as t
from c360.platform.connector_tables import LegalBasis
from c360.platform.locks import write_transaction
from c360.platform.privacy.consent import record_basis, withdraw_basis
from c360.platform.tables import table_of

BASES = table_of(LegalBasis)
LEGAL_BASES = ("consent", "contract", "legal_obligation", "public_interest", "public_record")
"""PIPL art. 13 grounds a lookup may rest on."""


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
