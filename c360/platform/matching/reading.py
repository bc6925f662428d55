"""The resolver's first step: read what a batch needs, once per batch (never per
record), and clear what its records said before.

It reads the records' old identity keys and match keys, the customers behind
every identity key the batch carries, the counts of every match key it uses,
the stored records behind its selective blocking keys with their customers and
features, the cluster sizes of those customers, the stewards' constraints, and
the candidate customers' id numbers. A rebuild's :class:`RebuildMemory` answers
the derived parts instead of the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, delete, func, select

from c360.platform import tables as t
from c360.platform.hard_identifiers import HardIdentifiers
from c360.platform.identity_rules import identity_keys
from c360.platform.matching import graph
from c360.platform.matching.batch import RecordKeys, ResolutionBatch
from c360.platform.matching.blocking import record_keys, records_key
from c360.platform.matching.constraints import load_constraints
from c360.platform.matching.features import record_features
from c360.platform.matching.key_store import read_counts, read_features, read_rows
from c360.platform.matching.memory import RebuildMemory
from c360.platform.matching.model import MatchModel
from c360.platform.matching.tables import match_key
from c360.platform.resolution import ResolvableRecord
from c360.platform.sql import IN_CHUNK, chunks, fetch_in

MATCH_KINDS = ("person", "organization")
"""The kinds scored by the model; any other kind links by the rules alone."""


def read_batch(
    conn: Connection,
    records: Sequence[ResolvableRecord],
    model: MatchModel,
    *,
    memory: RebuildMemory | None = None,
    edges: bool = True,
) -> ResolutionBatch:
    """Everything the batch's records will be linked against."""
    batch = ResolutionBatch(
        model=model,
        records=records,
        rules=model.settings.deterministic_rules,
        memory=memory,
        edges=edges,
    )
    known = [r.record_id for r in records if not r.new]
    _read_identity_keys(conn, batch, known)
    # Now forget what these records said before (they are new or changed). The
    # owners were read first, so a key that moves to another record in this
    # batch (a re-export shifting rows) still finds its customer.
    for chunk in chunks(known):
        conn.execute(delete(t.identity_key).where(t.identity_key.c.record_id.in_(chunk)))
        conn.execute(delete(t.record_link).where(t.record_link.c.record_id.in_(chunk)))
    _read_match_keys(conn, batch, known)
    _read_candidates(conn, batch)
    _read_constraints(conn, batch)
    batch.hard_ids = _hard_identifiers(conn, memory)
    batch.hard.prefetch(
        {cid for owners in batch.key_owner.values() for cid in owners}
        | set(batch.customer_of.values())
    )
    batch.still_linked = _linked_counts(
        conn, {r.previous_customer_id for r in records if r.previous_customer_id is not None}
    )
    return batch


def _read_identity_keys(conn: Connection, batch: ResolutionBatch, known: list[int]) -> None:
    previous: dict[int, set[str]] = defaultdict(set)
    for rid, key in fetch_in(
        conn, "SELECT record_id, key FROM identity_key WHERE {cond}", "record_id", known
    ):
        previous[rid].add(key)
    batch.previous_identity_keys = previous
    batch.identity_keys = {
        r.record_id: identity_keys(r.kind, r.attributes, batch.rules) for r in batch.records
    }
    wanted = sorted({k for ks in batch.identity_keys.values() for k in ks})
    for key, cid in fetch_in(
        conn, "SELECT DISTINCT key, customer_id FROM identity_key WHERE {cond}", "key", wanted
    ):
        batch.key_owner[key].add(cid)


def _read_match_keys(conn: Connection, batch: ResolutionBatch, known: list[int]) -> None:
    """The records' features and keys, their old keys (removed), and the counts."""
    batch.fresh = {r.record_id for r in batch.records if r.new}
    old = fetch_in(conn, 'SELECT "key" FROM match_key WHERE {cond}', "record_id", known)
    if old:
        for (key,) in old:
            batch.old_keys[key] += 1
        for i in range(0, len(known), IN_CHUNK):
            chunk = known[i : i + IN_CHUNK]
            conn.execute(delete(match_key).where(match_key.c.record_id.in_(chunk)))
    settings = batch.model.settings
    for rec in batch.records:
        if rec.kind not in MATCH_KINDS:
            continue
        features = record_features(rec.kind, rec.attributes)
        blocking, values = record_keys(settings, rec.kind, features)
        blocking, values = dict(blocking), dict(values)
        values.update(graph.value_keys(rec.kind, features))
        relations = (
            graph.wanted(rec.kind, features, settings.shared_features) if batch.edges else {}
        )
        batch.keys[rec.record_id] = RecordKeys(rec.kind, features, blocking, values, relations)
        batch.features[rec.record_id] = (rec.kind, features)
    wanted = {k for rk in batch.keys.values() for k in rk.all_keys()}
    wanted |= {records_key(kind) for kind in MATCH_KINDS}
    wanted |= set(batch.old_keys)
    wanted |= graph.wanted_keys(batch)
    memory = batch.memory
    if memory is None:
        read_counts(conn, wanted, batch.counts)
    else:
        batch.counts.update({k: memory.counts[k] for k in wanted if k in memory.counts})
    batch.counts.subtract(batch.old_keys)


def _read_candidates(conn: Connection, batch: ResolutionBatch) -> None:
    """The stored records behind the selective keys, their customers and sizes."""
    cap = batch.model.settings.max_candidates_per_key
    lookup = {k for rk in batch.keys.values() for k in rk.blocking if 0 < batch.counts[k] <= cap}
    lookup |= graph.lookup_keys(batch, cap)
    memory = batch.memory
    if memory is None:
        stored = read_rows(conn, lookup, batch.stored_rows, batch.customer_of)
        read_features(conn, stored - set(batch.features), batch.features)
        customers = sorted(set(batch.customer_of.values()))
        for cid, n in fetch_in(
            conn,
            "SELECT customer_id, count(*) FROM record_link WHERE {cond} GROUP BY customer_id",
            "customer_id",
            customers,
        ):
            batch.sizes[cid] = int(n)
        return
    memory.features.update(batch.features)
    stored = memory.rows(lookup, batch.stored_rows, batch.customer_of)
    for rid in stored:
        if rid not in batch.features:
            batch.features[rid] = memory.features[rid]
    for cid in set(batch.customer_of.values()):
        batch.sizes[cid] = memory.size(cid)


def _read_constraints(conn: Connection, batch: ResolutionBatch) -> None:
    """The stewards' must- and cannot-links, and the customers of their records."""
    batch.constraints = load_constraints(conn)
    if not batch.constraints:
        return
    recs = sorted(batch.constraints.records() - set(batch.customer_of))
    for i in range(0, len(recs), IN_CHUNK):
        for rid, cid in conn.execute(
            select(t.record_link.c.record_id, t.record_link.c.customer_id).where(
                t.record_link.c.record_id.in_(recs[i : i + IN_CHUNK])
            )
        ):
            batch.customer_of[rid] = cid


def _hard_identifiers(conn: Connection, memory: RebuildMemory | None) -> HardIdentifiers:
    """The customers' id numbers / USCCs: per batch, or kept across a rebuild."""
    if memory is None:
        return HardIdentifiers(conn)
    if memory.hard_identifiers is None:
        memory.hard_identifiers = HardIdentifiers(conn)
    return memory.hard_identifiers.bind(conn)


def _linked_counts(conn: Connection, customer_ids: set[int]) -> dict[int, int]:
    """How many records each customer still has linked."""
    if not customer_ids:
        return {}
    rl = t.record_link
    rows = conn.execute(
        select(rl.c.customer_id, func.count())
        .where(rl.c.customer_id.in_(sorted(customer_ids)))
        .group_by(rl.c.customer_id)
    )
    return {cid: n for cid, n in rows}


__all__ = ["MATCH_KINDS", "read_batch"]
