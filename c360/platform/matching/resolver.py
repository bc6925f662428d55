"""The resolver: which customer each record of a batch belongs to.

One pipeline, step by step, over one explicit
:class:`~c360.platform.matching.batch.ResolutionBatch`:

1. **read** (:func:`~c360.platform.matching.reading.read_batch`): per batch,
   never per record — the records' old keys, the customers behind their
   identity keys, the counts of their match keys, the stored records behind
   the selective blocking keys with their customers and features, the
   constraints and the candidates' id numbers;
2. then record by record, in arrival order: the customers the deterministic
   rules of the settings join it to, and the candidates Fellegi–Sunter scoring
   offers (:mod:`~c360.platform.matching.candidates`); the **guards**
   (:mod:`~c360.platform.matching.guards`: cannot-link, different id numbers,
   merge threshold, contradiction, cluster size) choose the merge group;
   **link** (:mod:`~c360.platform.matching.linking`) joins or creates;
3. **settle** the customers the batch created and **write** links, keys,
   counts, flags and edges (:mod:`~c360.platform.matching.writing`).

Invariants: a merge keeps the older (smaller) customer id and leaves the
absorbed one redirecting to it; two different valid id numbers never merge;
every link stores its evidence. Runaway clusters: a key shared by more than
``max_candidates_per_key`` records finds no candidates; an exact agreement is
weighed by how many records share the value; an identifier on more than
``shared_identifier_customers`` customers is flagged as shared; and a scored
merge that would make a customer bigger than ``max_cluster_size`` is not made
but flagged.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from c360.platform.matching.candidates import rule_matches, scored_candidates
from c360.platform.matching.guards import admit
from c360.platform.matching.linking import link, settle
from c360.platform.matching.memory import RebuildMemory
from c360.platform.matching.model import MatchModel
from c360.platform.matching.reading import MATCH_KINDS, read_batch
from c360.platform.matching.store import active_version, load_model
from c360.platform.matching.writing import write_batch
from c360.platform.resolution import ResolutionOutcome, ResolvableRecord


class Resolver:
    """Links batches of records to customers, creating and merging customers as
    the settings in force (rules, comparisons, thresholds) say."""

    def __init__(
        self,
        model: MatchModel | None = None,
        *,
        edges: bool = True,
        memory: RebuildMemory | None = None,
    ) -> None:
        """``model`` fixes the model (else the stored one in force is used);
        ``memory`` serves the match keys, counts, links and features this
        resolver wrote itself instead of reading them back: only for a resolver
        that lives inside one transaction with no other writer (a rebuild), which
        then calls :meth:`RebuildMemory.flush` when done."""
        self._fixed_model = model
        self._memory = memory
        self._edges = edges
        self._cached: MatchModel | None = None
        self._cached_version: int | None = -1

    def model(self, conn: Connection) -> MatchModel:
        """The model in force (reloaded when a newer version is stored)."""
        if self._fixed_model is not None:
            return self._fixed_model
        version = active_version(conn)
        if self._cached is None or version != self._cached_version:
            self._cached = load_model(conn, version)
            self._cached_version = version
        return self._cached

    def resolve(self, conn: Connection, records: Sequence[ResolvableRecord]) -> ResolutionOutcome:
        """Link every record (inside the caller's transaction) and report the changes."""
        if not records:
            return ResolutionOutcome()
        batch = read_batch(conn, records, self.model(conn), memory=self._memory, edges=self._edges)
        for rec in records:
            matched = rule_matches(batch, rec)
            found = scored_candidates(conn, batch, rec, set(matched))
            admission = admit(conn, batch, rec, matched, found)
            link(conn, batch, rec, admission, matched, found)
        write_batch(conn, batch, settle(conn, batch))
        return batch.outcome


__all__ = ["MATCH_KINDS", "Resolver"]
