"""Restriction of processing (PIPL art. 44/47, GB/T 35273-2020 §8.4): a person
under an open ``restriction`` request is *stored only*.

While it is open: no purpose is covered for them but ``legal_obligation``
(:func:`c360.platform.privacy.consent.covered_customers` asks
:func:`restricted_among`), so every read through the policy comes back masked
or refused; their search document is left out of the index (so they are in no
result list, segment or export built from search); judgments are not
recomputed for them and enrichment (bureau lookups) refuses them. Their data
stays as it is, and lifting the restriction puts them back (the index is told
through the outbox).

A restriction recorded on an id later merged into another covers the survivor:
it follows the person, as consents do.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Connection, Engine, and_, exists, select, update

from c360.platform.audit import AuditEntry, append
from c360.platform.customers.ids import absorbed_by
from c360.platform.golden import queue_for_index
from c360.platform.locks import write_transaction
from c360.platform.models import utcnow
from c360.platform.privacy.models import PrivacyRequest
from c360.platform.sql import chunks
from c360.platform.tables import table_of

REQUESTS = table_of(PrivacyRequest)
EXEMPT_PURPOSES = frozenset({"legal_obligation"})
"""What a restricted person's data may still be read for (a statutory duty,
the handling of the request itself)."""


def _open_restrictions() -> ColumnElement[bool]:
    return and_(REQUESTS.c.kind == "restriction", REQUESTS.c.status == "open")


# Built once: every GraphQL request that reads personal data asks it, and
# building the statement costs several times what SQLite takes to answer it.
_ANYONE_RESTRICTED = select(exists().where(_open_restrictions()))


def restricted_among(conn: Connection, customer_ids: Iterable[int]) -> set[int]:
    """The ids among ``customer_ids`` whose processing is restricted (one
    ``exists`` query while nobody is restricted, the usual case)."""
    wanted = sorted(set(customer_ids))
    if not wanted:
        return set()
    anyone = conn.execute(_ANYONE_RESTRICTED).scalar()
    if not anyone:
        return set()
    group = absorbed_by(conn, wanted)
    owner = {member: cid for cid in wanted for member in group.get(cid) or []}
    owner.update({cid: cid for cid in wanted})
    found: set[int] = set()
    for chunk in chunks(sorted(owner)):
        rows = conn.execute(
            select(REQUESTS.c.customer_id).where(
                _open_restrictions(),
                REQUESTS.c.customer_id.in_(chunk),
            )
        ).scalars()
        found |= {owner[int(cid)] for cid in rows}
    return found


def is_restricted(conn: Connection, customer_id: int) -> bool:
    return customer_id in restricted_among(conn, [customer_id])


def lift(engine: Engine, customer_id: int, *, actor: str, reason: str | None = None) -> int:
    """Lift every open restriction of ``customer_id``; returns how many were
    lifted (0: there was none). The person is indexed again."""
    with write_transaction(engine) as conn:
        lifted = conn.execute(
            update(REQUESTS)
            .where(_open_restrictions(), REQUESTS.c.customer_id == customer_id)
            .values(status="lifted", completed_at=utcnow())
        ).rowcount
        if lifted:
            queue_for_index(conn, [customer_id])
            append(
                conn,
                [
                    AuditEntry(
                        principal=actor,
                        action="privacy.restriction.lift",
                        purpose="legal_obligation",
                        customer_id=customer_id,
                        detail={"lifted": str(lifted), "reason": (reason or "")[:200]},
                    )
                ],
            )
    return int(lifted)
