"""The resolver's last step: store what a settled batch decided.

Links and identity keys go to their tables; the match keys of the linked
records and the change in each key's count go to the database (or, during a
rebuild, to its :class:`~c360.platform.matching.memory.RebuildMemory`, which
stores them once at the end); then the stewards' flags and the relationship
edges of the linked records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.matching import graph
from c360.platform.matching.batch import ResolutionBatch
from c360.platform.matching.blocking import records_key
from c360.platform.matching.flags import write_flags
from c360.platform.matching.key_store import add_counts
from c360.platform.matching.tables import match_key


def write_batch(conn: Connection, batch: ResolutionBatch, final: Callable[[int], int]) -> None:
    """Store the batch; ``final`` maps placeholders and absorbed ids to stored ones."""
    bulk_insert(conn, t.record_link, batch.link_rows)
    bulk_insert(conn, t.identity_key, batch.identity_key_rows)
    _write_match_keys(conn, batch, final)
    for rid, cid in list(batch.customer_of.items()):
        batch.customer_of[rid] = final(cid)
    write_flags(conn, batch, final, batch.memory)
    if batch.edges:
        graph.update_edges(conn, batch)


def _write_match_keys(
    conn: Connection, batch: ResolutionBatch, final: Callable[[int], int]
) -> None:
    memory = batch.memory
    if memory is not None:
        for survivor, absorbed in batch.outcome.merges:
            memory.merged(final(survivor), absorbed)
        for rid in batch.linked:
            rk = batch.keys[rid]
            keys = {*rk.blocking, *rk.values, records_key(rk.kind)}
            memory.linked(rid, final(batch.customer_of[rid]), keys)
        return
    rows: list[dict[str, Any]] = []
    delta: Counter[int] = Counter()
    for key, n in batch.old_keys.items():
        delta[key] -= n
    for rid in batch.linked:
        rk = batch.keys[rid]
        for key in {*rk.blocking, *rk.values, records_key(rk.kind)}:
            rows.append({"key": key, "record_id": rid})
            delta[key] += 1
    bulk_insert(conn, match_key, rows)
    add_counts(conn, delta)


__all__ = ["write_batch"]
