"""What a batch rebuild has resolved so far, kept in memory.

A rebuild (``c360 resolve --rebuild``) starts from cleared match keys and links
and is the only writer while it runs (it holds the ingest write lock in one
transaction), so everything its later batches would read back — the stored
records behind a blocking key, each key's count, which customer holds a record,
how big a customer is, a record's features — is what its earlier batches wrote.
:class:`RebuildMemory` keeps exactly that, so the batches ask the database for
none of it, and writes the match keys and their counts once, at the end, in key
order: a million records' ten million keys inserted at random places in a large
index is most of the cost otherwise.

The database stays the record of everything else (links, identity keys,
customers, constraints, edges); only these derived tables wait for
:meth:`RebuildMemory.flush`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import islice

from sqlalchemy import Connection, text

from c360.platform.hard_identifiers import HardIdentifiers
from c360.platform.matching.features import Features

FLUSH_CHUNK = 50_000


class RebuildMemory:
    """Match keys, key counts, links and features written by a rebuild's batches."""

    def __init__(self) -> None:
        self.records_of_key: dict[int, list[int]] = {}
        """key -> record ids carrying it, in the order they were linked"""
        self.counts: Counter[int] = Counter()
        self.customer_of: dict[int, int] = {}
        self.members: dict[int, list[int]] = {}
        """customer -> its linked records"""
        self.features: dict[int, tuple[str, Features]] = {}
        self.hard_identifiers: HardIdentifiers | None = None
        """every customer's id numbers, kept from batch to batch"""

    # ------------------------------------------------------------------ reads
    def rows(
        self, keys: Iterable[int], into: dict[int, list[int]], customer_of: dict[int, int]
    ) -> set[int]:
        """The records behind ``keys`` (as ``_read_rows`` reads them from the database)."""
        found: set[int] = set()
        for key in keys:
            rids = self.records_of_key.get(key)
            if not rids:
                continue
            into[key].extend(rids)
            for rid in rids:
                customer_of[rid] = self.customer_of[rid]
            found.update(rids)
        return found

    def size(self, customer_id: int) -> int:
        return len(self.members.get(customer_id, ()))

    # ------------------------------------------------------------------ writes
    def merged(self, survivor: int, absorbed: int) -> None:
        """``absorbed`` was folded into ``survivor``: its records follow."""
        moved = self.members.pop(absorbed, None)
        if not moved:
            return
        for rid in moved:
            self.customer_of[rid] = survivor
        self.members.setdefault(survivor, []).extend(moved)

    def linked(self, record_id: int, customer_id: int, keys: Iterable[int]) -> None:
        """A record of the batch now belongs to ``customer_id`` and carries ``keys``."""
        self.customer_of[record_id] = customer_id
        self.members.setdefault(customer_id, []).append(record_id)
        for key in keys:
            self.records_of_key.setdefault(key, []).append(record_id)
            self.counts[key] += 1

    def flush(self, conn: Connection) -> None:
        """Store every match key and count (into the tables the rebuild cleared)."""
        # one sorted pass builds the record index far faster than ten million
        # inserts into it
        conn.execute(text("DROP INDEX IF EXISTS ix_match_key_record_id"))
        pairs = (
            (key, rid)
            for key in sorted(self.records_of_key)
            for rid in sorted(self.records_of_key[key])
        )
        _insert_pairs(conn, 'INSERT INTO match_key ("key", record_id) VALUES (?, ?)', pairs)
        conn.execute(text("CREATE INDEX ix_match_key_record_id ON match_key (record_id)"))
        counts = ((k, n) for k, n in sorted(self.counts.items()) if n)
        _insert_pairs(conn, 'INSERT INTO match_key_count ("key", records) VALUES (?, ?)', counts)


def _insert_pairs(conn: Connection, sql: str, pairs: Iterable[tuple[int, int]]) -> None:
    """Many two-integer rows, straight to the driver in chunks."""
    if conn.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    chunk = list(islice(pairs, FLUSH_CHUNK))
    while chunk:
        conn.exec_driver_sql(sql, chunk)
        chunk = list(islice(pairs, FLUSH_CHUNK))


__all__ = ["RebuildMemory"]
