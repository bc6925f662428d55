"""Judgments kept current: what c360 decides about a customer (verification and
authenticity, credit grade and alerts, value / tier / lifecycle, case SLA state)
recomputed when the customer changes.

Every write to a customer puts an ``outbox`` row in the same transaction; the
indexer (:mod:`c360.search.indexer`), before it reads a batch's documents, calls
:func:`refresh_judgments` for the customers the batch names. So each judgment
is fresh in the document that makes it searchable, and is recomputed at least
once after every change (the outbox is at-least-once: a refresher must be
idempotent — recomputing from the same inputs writes the same result).

A refresher is ``(name, function)``; the function takes a connection inside a
transaction and the customer ids (merged-away ids included: it drops what it
holds for them or follows them to their survivor) and writes its own tables.
It must not write ``outbox`` rows (that would loop) and must not raise on a
customer whose inputs are incomplete: a judgment that cannot be made is stored
as such, with the reason. Refreshers run in :data:`REFRESHERS` order, so a later
one (credit) may read an earlier one's result (authenticity).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from sqlalchemy import Connection, Engine

from c360.platform.cases.reading import refresh_case_state
from c360.platform.privacy.restriction import restricted_among
from c360.platform.risk.judgment import judgment_refresher as credit_refresher
from c360.platform.value.judgment import value_refresher
from c360.platform.verification.judgment import authenticity_refresher

log = logging.getLogger(__name__)

Refresher = Callable[[Connection, Collection[int]], None]

REFRESHERS: tuple[tuple[str, Refresher], ...] = (
    # each capability package adds its refresher here, in dependency order
    ("authenticity", authenticity_refresher),
    ("credit", credit_refresher),
    ("value", value_refresher),
    ("cases", refresh_case_state),
)
"""The judgment refreshers, in the order they run."""


def refresh_judgments(engine: Engine, customer_ids: Collection[int]) -> None:
    """Recompute every judgment of ``customer_ids``, each refresher in its own
    transaction: one that fails is logged by name and leaves the others' results
    (the next change of the customer retries it)."""
    if not customer_ids:
        return
    with engine.connect() as conn:  # restricted (PIPL art. 47): stored, not scored
        customer_ids = set(customer_ids) - restricted_among(conn, customer_ids)
    if not customer_ids:
        return
    for name, refresh in REFRESHERS:
        try:
            with engine.begin() as conn:
                refresh(conn, customer_ids)
        except Exception as error:  # one judgment's fault must not stop indexing
            log.error(
                "judgment %s failed for %d customers: %s",
                name,
                len(customer_ids),
                type(error).__name__,
            )
