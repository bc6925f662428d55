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
from datetime import datetime

from sqlalchemy import Connection, or_, select

from c360.platform import tables as t
from c360.platform.connector_tables import LegalBasis
from c360.platform.customers.ids import absorbed_by
from c360.platform.models import utcnow
from c360.platform.privacy.purposes import bases_for, standing_basis
from c360.platform.privacy.restriction import EXEMPT_PURPOSES, restricted_among
from c360.platform.tables import table_of

BASES = table_of(LegalBasis)


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
