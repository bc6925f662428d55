"""Everything one resolution batch knows, on one explicit object.

:class:`ResolutionBatch` holds what the batch read (each record's identity and
match keys, the key counts, the stored candidates behind its blocking keys,
their customers, constraints and cluster sizes, the customers' id numbers) and
what it has decided so far (links, merges, the customers it created under
placeholder ids). The resolver's steps (:mod:`~c360.platform.matching.reading`,
:mod:`~c360.platform.matching.candidates`, :mod:`~c360.platform.matching.guards`,
:mod:`~c360.platform.matching.linking`, :mod:`~c360.platform.matching.writing`)
take it as an argument; none keeps state of its own. The relationship graph and
the stewards' flags read it after linking.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.hard_identifiers import HardIdentifiers
from c360.platform.identity_rules import DeterministicRule
from c360.platform.matching.blocking import records_key
from c360.platform.matching.constraints import Constraints
from c360.platform.matching.features import Features
from c360.platform.matching.memory import RebuildMemory
from c360.platform.matching.model import MatchModel
from c360.platform.models import utcnow
from c360.platform.resolution import ResolutionOutcome, ResolvableRecord


@dataclass(slots=True)
class RecordKeys:
    kind: str
    features: Features
    blocking: dict[int, str]
    values: dict[int, tuple[str, str]]
    wanted: dict[int, str] = field(default_factory=dict)
    """relation keys to look up for graph edges: key -> purpose"""

    def all_keys(self) -> list[int]:
        return [*self.blocking, *self.values, records_key(self.kind)]


class PendingCustomers:
    """Customers created during one batch, under negative placeholder ids until
    they are inserted together."""

    def __init__(self) -> None:
        self._created: list[tuple[int, str, str | None]] = []
        self._absorbed_into: dict[int, int] = {}

    def create(self, rec: ResolvableRecord) -> int:
        placeholder = -(len(self._created) + 1)
        self._created.append((placeholder, rec.kind, rec.attributes.get("name")))
        return placeholder

    def absorb(self, survivor: int, absorbed: int) -> None:
        self._absorbed_into[absorbed] = survivor

    def _canonical(self, cid: int) -> int:
        while cid in self._absorbed_into:
            cid = self._absorbed_into[cid]
        return cid

    def insert(self, conn: Connection, now: datetime) -> dict[int, int]:
        """Insert the surviving placeholders; returns placeholder -> real id."""
        survivors = [c for c in self._created if c[0] not in self._absorbed_into]
        if not survivors:
            return {}
        rows: list[dict[str, Any]] = [
            {"kind": kind, "display_name": name, "created_at": now, "updated_at": now}
            for _, kind, name in survivors
        ]
        if conn.dialect.name == "sqlite":
            # SQLite hands out max(id) + 1, and this transaction holds the write
            # lock: the ids are known, and one multi-row insert beats a RETURNING
            # round trip per row
            start = int(conn.execute(select(func.max(t.customer.c.id))).scalar() or 0)
            for offset, row in enumerate(rows, start=1):
                row["id"] = start + offset
            bulk_insert(conn, t.customer, rows)
            return {p: row["id"] for (p, _, _), row in zip(survivors, rows, strict=True)}
        result = conn.execute(
            insert(t.customer).returning(t.customer.c.id, sort_by_parameter_order=True), rows
        )
        return {p: int(i) for (p, _, _), i in zip(survivors, result.scalars(), strict=True)}

    def final(self, cid: int, real: dict[int, int]) -> int:
        """The stored id for ``cid`` (a real id, or a placeholder now inserted)."""
        if cid > 0:
            return cid
        return real[self._canonical(cid)] if self._canonical(cid) < 0 else self._canonical(cid)


@dataclass
class ResolutionBatch:
    """What one batch read from the database, and what it has linked so far."""

    model: MatchModel
    records: Sequence[ResolvableRecord] = ()
    rules: Sequence[DeterministicRule] = ()
    """the deterministic rules in force, strongest first"""
    memory: RebuildMemory | None = None
    """a rebuild's memory of what its earlier batches wrote (else the database)"""
    edges: bool = True
    """whether the relationship graph is re-derived for the linked records"""

    # ---------------------------------------------------------------- identity keys
    identity_keys: dict[int, list[str]] = field(default_factory=dict)
    """batch record id -> its strong-identifier keys, in the rules' order"""
    previous_identity_keys: dict[int, set[str]] = field(default_factory=dict)
    """batch record id -> the identity keys it carried before this batch"""
    key_owner: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    """identity key -> customers holding it (stored, then as linked)"""
    hard_ids: HardIdentifiers | None = None
    still_linked: dict[int, int] = field(default_factory=dict)
    """a batch record's previous customer -> records it still holds"""

    # ---------------------------------------------------------------- match keys
    keys: dict[int, RecordKeys] = field(default_factory=dict)
    """batch record id -> its keys"""
    counts: Counter[int] = field(default_factory=Counter)
    """key -> records carrying it (stored, minus the batch's old keys, plus linked)"""
    stored_rows: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    """blocking key -> stored record ids"""
    batch_rows: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    """blocking key -> batch record ids linked so far"""
    features: dict[int, tuple[str, Features]] = field(default_factory=dict)
    """record id -> (kind, features), stored candidates and batch records"""
    customer_of: dict[int, int] = field(default_factory=dict)
    old_keys: Counter[int] = field(default_factory=Counter)
    constraints: Constraints = field(default_factory=Constraints)
    sizes: dict[int, int] = field(default_factory=dict)
    refused_merges: list[tuple[int, int, int]] = field(default_factory=list)
    """(customer, would-be partner, size): links and merges the cluster-size guard
    stopped (partner == customer for a refused link)"""
    linked: list[int] = field(default_factory=list)
    """batch records with match keys, in the order they were linked"""
    fresh: set[int] = field(default_factory=set)
    """batch records never resolved before: no old keys, links or edges"""

    # ---------------------------------------------------------------- decisions
    pending: PendingCustomers = field(default_factory=PendingCustomers)
    link_rows: list[dict[str, Any]] = field(default_factory=list)
    """record_link rows, placeholders until :func:`~c360.platform.matching.linking.settle`"""
    identity_key_rows: list[dict[str, Any]] = field(default_factory=list)
    now: datetime = field(default_factory=utcnow)
    outcome: ResolutionOutcome = field(default_factory=ResolutionOutcome)

    rule_rank: dict[str, int] = field(init=False)
    """rule key -> its place among the rules (0 the strongest)"""
    rule_of: dict[str, DeterministicRule] = field(init=False)

    def __post_init__(self) -> None:
        self.rule_rank = {rule.key: index for index, rule in enumerate(self.rules)}
        self.rule_of = {rule.key: rule for rule in self.rules}

    @property
    def hard(self) -> HardIdentifiers:
        """The customers' id numbers / USCCs (set when the batch is read)."""
        assert self.hard_ids is not None, "the batch has not been read"
        return self.hard_ids

    def size(self, conn: Connection, customer_id: int) -> int:
        """Records the customer holds now (placeholders start empty)."""
        if customer_id not in self.sizes:
            if customer_id < 0:
                self.sizes[customer_id] = 0
            elif self.memory is not None:
                self.sizes[customer_id] = self.memory.size(customer_id)
            else:
                self.sizes[customer_id] = int(
                    conn.execute(
                        select(func.count())
                        .select_from(t.record_link)
                        .where(t.record_link.c.customer_id == customer_id)
                    ).scalar_one()
                )
        return self.sizes[customer_id]


__all__ = ["PendingCustomers", "RecordKeys", "ResolutionBatch"]
