"""The hard identifiers of customers (resident id numbers, unified social
credit codes): two different ones never join one customer (cannot-link). A
resolution batch, or a whole rebuild, keeps each customer's in a cache
(:class:`HardIdentifiers`) and asks it before every link and merge.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from c360.platform import tables as t
from c360.platform.identity_rules import key_tag
from c360.platform.sql import fetch_in


class HardIdentifiers:
    """Cache of each customer's id numbers / USCCs (cannot-link evidence): for one
    batch, or for a whole rebuild, which writes every one of them itself."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._known: dict[int, set[str]] = {}

    def bind(self, conn: Connection) -> HardIdentifiers:
        """Read what is not cached through ``conn`` from now on."""
        self._conn = conn
        return self

    def of(self, customer_id: int) -> set[str]:
        if customer_id not in self._known:
            ik = t.identity_key
            rows = self._conn.execute(
                select(ik.c.key).where(
                    ik.c.customer_id == customer_id,
                    ik.c.key.like("p:ric:%") | ik.c.key.like("o:uscc:%"),
                )
            )
            self._known[customer_id] = {row.key for row in rows}
        return self._known[customer_id]

    def prefetch(self, customer_ids: set[int]) -> None:
        """Load the id numbers / USCCs of many customers in one query each chunk."""
        ids = sorted(c for c in customer_ids if c > 0 and c not in self._known)
        for cid in ids:
            self._known[cid] = set()
        pct = "%" if self._conn.dialect.name == "sqlite" else "%%"  # psycopg escapes %
        for cid, key in fetch_in(
            self._conn,
            "SELECT customer_id, key FROM identity_key WHERE {cond} "
            f"AND (key LIKE 'p:ric:{pct}' OR key LIKE 'o:uscc:{pct}')",
            "customer_id",
            ids,
        ):
            self._known[cid].add(key)

    def known_empty(self, customer_id: int) -> None:
        """A customer created in this batch: nothing stored yet."""
        self._known[customer_id] = set()

    def conflicts(self, customer_id: int, own: set[str]) -> bool:
        """Does the customer carry a different id number / USCC than ``own``?"""
        if not own:
            return False
        return hard_conflict(own, self.of(customer_id))

    def add(self, customer_id: int, keys: set[str]) -> None:
        self.of(customer_id).update(keys)

    def absorb(self, survivor: int, absorbed: int) -> None:
        self.of(survivor).update(self.of(absorbed))
        self._known.pop(absorbed, None)

    def settle(self, stored: dict[int, int]) -> None:
        """The batch's placeholder customers were stored under these ids."""
        for placeholder, customer_id in stored.items():
            if placeholder in self._known:
                self._known[customer_id] = self._known.pop(placeholder)


def hard_conflict(ours: set[str], theirs: set[str]) -> bool:
    """Different id numbers (or USCCs) of the same kind, none in common."""
    return bool(ours) and bool(theirs) and not (ours & theirs) and _same_kind(ours, theirs)


def _same_kind(a: set[str], b: set[str]) -> bool:
    return {key_tag(k) for k in a} & {key_tag(k) for k in b} != set()


__all__ = ["HardIdentifiers", "hard_conflict"]
