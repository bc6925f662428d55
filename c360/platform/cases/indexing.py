"""Telling the search indexer that a customer's open cases changed: an outbox
row in the same transaction as the change, so the indexer refreshes the
customer's case state (:func:`~c360.platform.cases.reading.refresh_case_state`,
a judgment refresher) and then its search document (the ``case_status`` facet)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.customers.ids import survivor_of
from c360.platform.models import utcnow


def queue_for_search(conn: Connection, customer_ids: Collection[int]) -> None:
    """Outbox rows for these customers, each followed to its survivor."""
    survivors = sorted(set(survivor_of(conn, customer_ids).values()))
    now = utcnow()
    bulk_insert(
        conn,
        t.outbox,
        [{"entity": "customer", "entity_id": str(c), "op": "upsert", "created_at": now}
         for c in survivors],
    )  # fmt: skip
