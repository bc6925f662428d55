"""What one batch of the probabilistic resolver reads from the database and
links as it goes: per record its features and keys (:class:`RecordKeys`), and
for the batch the key counts, the stored candidates behind its blocking keys,
their customers, constraints and cluster sizes (:class:`ResolutionBatch`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from c360.platform.matching.blocking import records_key
from c360.platform.matching.constraints import Constraints
from c360.platform.matching.features import Features
from c360.platform.matching.model import MatchModel


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


@dataclass
class ResolutionBatch:
    """What one batch read from the database, and what it has linked so far."""

    model: MatchModel
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
    fresh: set[int] = field(default_factory=set)
    """batch records never resolved before: no old keys, links or edges"""


__all__ = ["RecordKeys", "ResolutionBatch"]
