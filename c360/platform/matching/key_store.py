"""The stored keys of records (``match_key``) and their running counts
(``match_key_count``): read for a batch, added to as records link, dropped when a
record no longer speaks for anyone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Connection, delete, select

from c360.platform import tables as t
from c360.platform.matching.features import Features, record_features
from c360.platform.matching.tables import edge, match_key, match_key_count
from c360.platform.sql import IN_CHUNK, fetch_in

COUNT_CHUNK = 20_000


def forget_records(conn: Connection, record_ids: Sequence[int]) -> None:
    """A record no longer speaks for anyone (quarantined, now an event, erased):
    drop its keys (and their counts) and its graph edges."""
    ids = sorted(set(record_ids))
    delta: Counter[int] = Counter()
    for i in range(0, len(ids), IN_CHUNK):
        chunk = ids[i : i + IN_CHUNK]
        for (key,) in conn.execute(select(match_key.c.key).where(match_key.c.record_id.in_(chunk))):
            delta[key] -= 1
        conn.execute(delete(match_key).where(match_key.c.record_id.in_(chunk)))
        conn.execute(
            delete(edge).where(edge.c.record_id.in_(chunk) | edge.c.other_record_id.in_(chunk))
        )
    add_counts(conn, delta)


def read_counts(conn: Connection, keys: set[int], into: Counter[int]) -> None:
    for key, n in fetch_in(
        conn, 'SELECT "key", records FROM match_key_count WHERE {cond}', '"key"', sorted(keys)
    ):
        into[key] = n


def read_rows(
    conn: Connection, keys: set[int], into: dict[int, list[int]], customer_of: dict[int, int]
) -> set[int]:
    found: set[int] = set()
    for key, rid, cid in fetch_in(
        conn,
        'SELECT mk."key", mk.record_id, rl.customer_id FROM match_key mk '
        "JOIN record_link rl ON rl.record_id = mk.record_id WHERE {cond}",
        'mk."key"',
        sorted(keys),
    ):
        into[key].append(rid)
        customer_of[rid] = cid
        found.add(rid)
    return found


def read_features(
    conn: Connection, record_ids: set[int], into: dict[int, tuple[str, Features]]
) -> None:
    ordered = sorted(record_ids)
    sr = t.source_record
    for i in range(0, len(ordered), IN_CHUNK):
        for rid, kind, attributes in conn.execute(
            select(sr.c.id, sr.c.kind, sr.c.attributes).where(
                sr.c.id.in_(ordered[i : i + IN_CHUNK]), sr.c.status == "accepted"
            )
        ):
            into[rid] = (kind, record_features(kind, attributes or {}))


def add_counts(conn: Connection, delta: Counter[int]) -> None:
    """Add ``delta`` to the stored counts (keys in order, so that concurrent
    writers lock the count rows in one order)."""
    pairs = [(k, n) for k, n in sorted(delta.items()) if n]
    if not pairs:
        return
    table = match_key_count.name
    upsert = f'ON CONFLICT ("key") DO UPDATE SET records = {table}.records + excluded.records'
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f'INSERT INTO {table} ("key", records) VALUES (?, ?) {upsert}', pairs)
        return
    # one set-based statement per chunk instead of a round trip per key
    sql = (
        f'INSERT INTO {table} ("key", records) '
        f"SELECT * FROM unnest(%s::bigint[], %s::bigint[]) {upsert}"
    )
    for i in range(0, len(pairs), COUNT_CHUNK):
        keys, counts = zip(*pairs[i : i + COUNT_CHUNK], strict=True)
        conn.exec_driver_sql(sql, (list(keys), list(counts)))


__all__ = ["add_counts", "forget_records", "read_counts", "read_features", "read_rows"]
