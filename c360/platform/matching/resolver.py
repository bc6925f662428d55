"""The incremental probabilistic resolver: strong-identifier rules as hard links,
plus Fellegi–Sunter scoring of candidates found through blocking keys kept in the
database.

Per batch (never per record) it reads: the batch records' old keys, the counts
of every key the batch uses, the stored records behind the selective blocking
keys with their customers, those records' attributes, and the constraints. Then,
record by record, it scores each candidate record (stored, or earlier in the
batch) and offers every customer whose best record scores above the threshold;
:class:`~c360.platform.resolution.DeterministicResolver` links to the strongest
and merges the customers the record bridges — unless a rule, a steward's
cannot-link or the cluster-size guard forbids it.

Runaway clusters: a key shared by more than ``max_candidates_per_key`` records
finds no candidates; an exact agreement is weighed by how many records share the
value (a phone on a thousand records is worth almost nothing); an identifier on
more than ``shared_identifier_customers`` customers is flagged as shared; and a
scored merge that would make a customer bigger than ``max_cluster_size`` is not
made but flagged.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select

from c360.platform import tables as t
from c360.platform.bulk import bulk_insert
from c360.platform.hard_identifiers import HardIdentifiers
from c360.platform.identity_rules import DeterministicRule
from c360.platform.matching import graph
from c360.platform.matching.batch import RecordKeys, ResolutionBatch
from c360.platform.matching.blocking import blocking_key, record_keys, records_key, value_key
from c360.platform.matching.constraints import load_constraints
from c360.platform.matching.features import Features, record_features
from c360.platform.matching.flags import write_flags
from c360.platform.matching.key_store import (
    add_counts,
    read_counts,
    read_features,
    read_rows,
)
from c360.platform.matching.memory import RebuildMemory
from c360.platform.matching.model import MatchModel, probability, weight_of
from c360.platform.matching.store import active_version, load_model
from c360.platform.matching.tables import match_key
from c360.platform.resolution import (
    Candidate,
    DeterministicResolver,
    ResolutionOutcome,
    ResolvableRecord,
)
from c360.platform.sql import IN_CHUNK, fetch_in

MATCH_KINDS = ("person", "organization")


class ProbabilisticResolver(DeterministicResolver):
    """Rules, then Fellegi–Sunter scores over database-kept blocking keys."""

    def __init__(
        self,
        model: MatchModel | None = None,
        *,
        edges: bool = True,
        memory: RebuildMemory | None = None,
    ) -> None:
        """``memory`` serves the match keys, counts, links and features this
        resolver wrote itself instead of reading them back: only for a resolver
        that lives inside one transaction with no other writer (a rebuild), which
        then calls :meth:`RebuildMemory.flush` when done."""
        self._fixed_model = model
        self._memory = memory
        self._cached: MatchModel | None = None
        self._cached_version: int | None = -1
        self._edges = edges
        self._batch: ResolutionBatch | None = None
        self._members: dict[int, list[Features]] = {}
        self._probabilities: dict[int, float] = {}
        self._kind = "person"

    # ------------------------------------------------------------------ model
    def model(self, conn: Connection) -> MatchModel:
        """The model in force (reloaded when a newer version is stored)."""
        if self._fixed_model is not None:
            return self._fixed_model
        version = active_version(conn)
        if self._cached is None or version != self._cached_version:
            self._cached = load_model(conn, version)
            self._cached_version = version
        return self._cached

    # ------------------------------------------------------------------ batch reads
    def _prepare(self, conn: Connection, records: Sequence[ResolvableRecord]) -> None:
        model = self.model(conn)
        batch = ResolutionBatch(model=model)
        self._batch = batch
        batch.fresh = {r.record_id for r in records if r.new}
        ids = [r.record_id for r in records if not r.new]
        old = fetch_in(conn, 'SELECT "key" FROM match_key WHERE {cond}', "record_id", ids)
        if old:
            for (key,) in old:
                batch.old_keys[key] += 1
            for i in range(0, len(ids), IN_CHUNK):
                chunk = ids[i : i + IN_CHUNK]
                conn.execute(delete(match_key).where(match_key.c.record_id.in_(chunk)))
        settings = model.settings
        for rec in records:
            if rec.kind not in MATCH_KINDS:
                continue
            features = record_features(rec.kind, rec.attributes)
            blocking, values = record_keys(settings, rec.kind, features)
            blocking, values = dict(blocking), dict(values)
            values.update(graph.value_keys(rec.kind, features))
            relations = (
                graph.wanted(rec.kind, features, settings.shared_features) if self._edges else {}
            )
            batch.keys[rec.record_id] = RecordKeys(rec.kind, features, blocking, values, relations)
            batch.features[rec.record_id] = (rec.kind, features)
        wanted = {k for rk in batch.keys.values() for k in rk.all_keys()}
        wanted |= {records_key(kind) for kind in MATCH_KINDS}
        wanted |= set(batch.old_keys)
        wanted |= graph.wanted_keys(batch)
        memory = self._memory
        if memory is None:
            read_counts(conn, wanted, batch.counts)
        else:
            batch.counts.update({k: memory.counts[k] for k in wanted if k in memory.counts})
        batch.counts.subtract(batch.old_keys)
        cap = settings.max_candidates_per_key
        lookup = {
            k for rk in batch.keys.values() for k in rk.blocking if 0 < batch.counts[k] <= cap
        }
        lookup |= graph.lookup_keys(batch, cap)
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
        else:
            memory.features.update(batch.features)
            stored = memory.rows(lookup, batch.stored_rows, batch.customer_of)
            for rid in stored:
                if rid not in batch.features:
                    batch.features[rid] = memory.features[rid]
            for cid in set(batch.customer_of.values()):
                batch.sizes[cid] = memory.size(cid)
        batch.constraints = load_constraints(conn)
        if batch.constraints:
            recs = sorted(batch.constraints.records() - set(batch.customer_of))
            for i in range(0, len(recs), IN_CHUNK):
                for rid, cid in conn.execute(
                    select(t.record_link.c.record_id, t.record_link.c.customer_id).where(
                        t.record_link.c.record_id.in_(recs[i : i + IN_CHUNK])
                    )
                ):
                    batch.customer_of[rid] = cid

    def _rules(self, conn: Connection) -> Sequence[DeterministicRule]:
        return self.model(conn).settings.deterministic_rules

    def _known_customers(self) -> set[int]:
        batch = self._batch
        return set(batch.customer_of.values()) if batch else set()

    def _hard_identifiers(self, conn: Connection) -> HardIdentifiers:
        memory = self._memory
        if memory is None:
            return super()._hard_identifiers(conn)
        if memory.hard_identifiers is None:
            memory.hard_identifiers = HardIdentifiers(conn)
        return memory.hard_identifiers.bind(conn)

    # ------------------------------------------------------------------ per record
    def _term_frequency(
        self, kind: str, own: Callable[[str, str], int], keys: dict[tuple[str, str], int]
    ) -> Callable[[str, str], tuple[float, float] | None]:
        """Value frequencies among the *other* customers' records: live counts (or
        the training counts scaled to the live data, when larger, so that early
        arrivals are weighed as the whole data set is) less the candidate
        customer's own records with the value (``own``)."""
        batch = self._batch
        assert batch is not None
        model = batch.model
        live = batch.counts[records_key(kind)]
        trained = model.population_by_kind.get(kind, 0)
        records = max(live, trained)

        secret = blocking_key()

        def tf(feature: str, value: str) -> tuple[float, float]:
            key = keys.get((feature, value))
            if key is None:
                key = value_key(kind, feature, value, secret=secret)
            count = float(batch.counts[key])
            if trained:
                # the training counts may include the record itself: leave it out
                known = max(model.trained_frequency(kind, feature, value) - 1, 0)
                count = max(count, known * records / trained)
            return max(count - own(feature, value), 0.0), float(records)

        return tf

    def _candidates(self, rec: ResolvableRecord, matched: set[int]) -> dict[int, Candidate]:
        batch = self._batch
        found: dict[int, Candidate] = {}
        self._probabilities = {}
        if batch is None:
            return found
        for other in batch.constraints.must.get(rec.record_id, ()):
            cid = batch.customer_of.get(other)
            if cid is not None:
                found[cid] = Candidate(1.0, {"rule": "manual merge"}, manual=True)
        mine = batch.keys.get(rec.record_id)
        if mine is None:
            return found
        model = batch.model
        settings = model.settings
        cap = settings.max_candidates_per_key
        by_record: dict[int, list[str]] = defaultdict(list)
        for key, rule in mine.blocking.items():
            if batch.counts[key] > cap:
                continue
            for rid in batch.stored_rows.get(key, ()):
                by_record[rid].append(rule)
            for rid in batch.batch_rows.get(key, ()):
                by_record[rid].append(rule)
        if not by_record:
            return found
        live = batch.counts[records_key(mine.kind)]
        prior = model.prior_weight(mine.kind, live)
        threshold = settings.match_threshold
        members: dict[int, list[Features]] = defaultdict(list)
        scorable: list[tuple[int, int, Features, list[str]]] = []
        ranked = sorted(by_record.items(), key=lambda item: (-len(item[1]), item[0]))
        for rid, rules in ranked[: settings.max_scored_candidates + 1]:
            if rid == rec.record_id:
                continue
            kind_features = batch.features.get(rid)
            cid = batch.customer_of.get(rid)
            if kind_features is None or cid is None or kind_features[0] != mine.kind:
                continue
            members[cid].append(kind_features[1])
            if cid not in matched:  # a rule already joins the record to it
                scorable.append((rid, cid, kind_features[1], rules))
        best: dict[int, tuple[float, int, list[str]]] = {}
        value_keys = {fv: key for key, fv in mine.values.items()}
        own_records: list[Features] = []

        def own(feature: str, value: str) -> int:
            return sum(1 for f in own_records if f.get(feature) == value)

        tf = self._term_frequency(mine.kind, own, value_keys)
        for rid, cid, features, rules in sorted(scorable):
            own_records = members[cid]
            weight = model.weigh(mine.kind, mine.features, features, prior, tf)[0]
            held = best.get(cid)
            if held is None or weight > held[0]:
                best[cid] = (weight, rid, rules)
        threshold_weight = weight_of(threshold)
        scores: dict[int, tuple[float, int, Any, list[str]]] = {}
        for cid, (weight, rid, rules) in best.items():
            if weight < threshold_weight:
                continue
            if self._contradicted(mine.kind, mine.features, members[cid]):
                continue
            own_records = members[cid]
            score = model.score(
                mine.kind,
                mine.features,
                batch.features[rid][1],
                prior_weight=prior,
                term_frequency=tf,
            )
            scores[cid] = (score.probability, rid, score, rules)
        self._members = members
        self._kind = mine.kind
        above = sorted(
            (
                (cid, held)
                for cid, held in scores.items()
                if held[0] >= threshold and cid not in found
            ),
            key=lambda item: (-item[1][2].match_weight, item[0]),
        )
        kept: list[tuple[int, float]] = []
        ambiguous: set[int] = set()
        margin = settings.ambiguity_margin
        limit = settings.max_cluster_size
        for cid, (_p, rid, score, rules) in above:
            if self._size(cid) + 1 > limit:
                batch.refused_merges.append((cid, cid, self._size(cid) + 1))
                continue
            rivals = [(k, w) for k, w in kept if not self._distinct_ok(k, cid)]
            if rivals:
                # a stronger candidate is a different person: this one loses,
                # and if it is nearly as close, nobody wins (homonyms)
                ambiguous.update(k for k, w in rivals if w - score.match_weight < margin)
                continue
            kept.append((cid, score.match_weight))
            evidence = score.evidence()
            evidence.update(
                rule="probabilistic",
                matched_record_id=rid,
                model_version=model.version,
                blocking_rules=sorted(set(rules)),
                threshold=threshold,
            )
            found[cid] = Candidate(evidence["probability"], evidence)
        self._probabilities = {cid: c.probability for cid, c in found.items()}
        for cid in ambiguous:
            found.pop(cid, None)
        return found

    def _contradicts(self, kind: str, fa: Features, fb: Features) -> bool:
        """Two records are different people: they disagree somewhere (a comparison
        weighs against them) and, all told, score below ``distinct_below``. Records
        that merely share little (a phone-only social account, a sign-up without a
        phone) do not contradict each other."""
        batch = self._batch
        assert batch is not None
        model = batch.model
        prior = model.prior_weight(kind, batch.counts[records_key(kind)])
        match_weight, least_weight = model.weigh(kind, fa, fb, prior)
        return least_weight < 0 and probability(match_weight) < model.settings.distinct_below

    def _contradicted(self, kind: str, features: Features, others: list[Features]) -> bool:
        """Does the record contradict one of a candidate customer's records? Its
        best match there does not outweigh a record that says it is someone else."""
        return any(self._contradicts(kind, features, other) for other in others)

    def _distinct_ok(self, a: int, b: int) -> bool:
        """False when the records of customers ``a`` and ``b`` seen for the current
        record show they are different people: some pair of them contradicts
        (:meth:`_contradicts`)."""
        left, right = self._members.get(a, []), self._members.get(b, [])
        return not any(self._contradicts(self._kind, fa, fb) for fa in left for fb in right)

    def _refused(self, rec: ResolvableRecord) -> set[int]:
        batch = self._batch
        if batch is None:
            return set()
        return {
            batch.customer_of[r]
            for r in batch.constraints.cannot.get(rec.record_id, ())
            if r in batch.customer_of
        }

    def _may_merge(self, group: list[int], customer_id: int, *, automatic: bool) -> bool:
        batch = self._batch
        if batch is None:
            return True
        cannot = batch.constraints.cannot
        if cannot:
            members = set(group)
            for rid, others in cannot.items():
                if batch.customer_of.get(rid) == customer_id and any(
                    batch.customer_of.get(o) in members for o in others
                ):
                    return False
        if automatic and (
            self._probabilities.get(customer_id, 1.0) < self._merge_threshold()
            or not all(self._distinct_ok(c, customer_id) for c in group)
        ):
            return False
        if automatic:
            limit = batch.model.settings.max_cluster_size
            size = sum(self._size(c) for c in group) + self._size(customer_id)
            if size > limit:
                batch.refused_merges.append((group[0], customer_id, size))
                return False
        return True

    def _merge_threshold(self) -> float:
        batch = self._batch
        assert batch is not None
        settings = batch.model.settings
        return max(settings.merge_threshold, settings.match_threshold)

    def _size(self, customer_id: int) -> int:
        batch = self._batch
        assert batch is not None
        if customer_id not in batch.sizes:
            if customer_id < 0:
                batch.sizes[customer_id] = 0
            elif self._memory is not None:
                batch.sizes[customer_id] = self._memory.size(customer_id)
            else:
                batch.sizes[customer_id] = int(
                    self._conn.execute(
                        select(func.count())
                        .select_from(t.record_link)
                        .where(t.record_link.c.customer_id == customer_id)
                    ).scalar_one()
                )
        return batch.sizes[customer_id]

    def _linked(self, rec: ResolvableRecord, customer_id: int) -> None:
        batch = self._batch
        if batch is None:
            return
        batch.customer_of[rec.record_id] = customer_id
        if customer_id < 0 or customer_id in batch.sizes:
            batch.sizes[customer_id] = batch.sizes.get(customer_id, 0) + 1
        mine = batch.keys.get(rec.record_id)
        if mine is None:
            return
        batch.linked.append(rec.record_id)
        for key in mine.blocking:
            batch.batch_rows[key].append(rec.record_id)
        for key in mine.all_keys():
            batch.counts[key] += 1

    def _merged(self, survivor: int, absorbed: int) -> None:
        batch = self._batch
        if batch is None:
            return
        for rid, cid in batch.customer_of.items():
            if cid == absorbed:
                batch.customer_of[rid] = survivor
        if absorbed in batch.sizes or survivor in batch.sizes:
            batch.sizes[survivor] = self._size(survivor) + self._size(absorbed)
            batch.sizes.pop(absorbed, None)

    # ------------------------------------------------------------------ writes
    def resolve(self, conn: Connection, records: Sequence[ResolvableRecord]) -> ResolutionOutcome:
        self._conn = conn
        try:
            return super().resolve(conn, records)
        finally:
            self._batch = None

    def _finish(
        self, conn: Connection, final: Callable[[int], int], outcome: ResolutionOutcome
    ) -> None:
        batch = self._batch
        if batch is None:
            return
        memory = self._memory
        if memory is not None:
            for survivor, absorbed in outcome.merges:
                memory.merged(final(survivor), absorbed)
            for rid in batch.linked:
                rk = batch.keys[rid]
                keys = {*rk.blocking, *rk.values, records_key(rk.kind)}
                memory.linked(rid, final(batch.customer_of[rid]), keys)
        else:
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
        for rid, cid in list(batch.customer_of.items()):
            batch.customer_of[rid] = final(cid)
        write_flags(conn, batch, final, self._memory)
        if self._edges:
            graph.update_edges(conn, batch)


__all__ = ["MATCH_KINDS", "ProbabilisticResolver"]
