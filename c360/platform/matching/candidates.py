"""The customers one record of a batch may join: by the deterministic rules
(:func:`rule_matches`), by a steward's must-link, and by Fellegi–Sunter scores
over the stored and earlier batch records that share a blocking key with it
(:func:`scored_candidates`).

Scoring weighs an exact agreement by how many *other* customers' records share
the value (term frequencies, :func:`term_frequency`), offers each customer
whose best record scores above the threshold and that none of its records
contradicts, and drops homonyms: a candidate nearly as close as a stronger one
that is a different person wins nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from c360.platform.identity_rules import key_tag
from c360.platform.matching.batch import ResolutionBatch
from c360.platform.matching.blocking import blocking_key, records_key, value_key
from c360.platform.matching.features import Features
from c360.platform.matching.model import probability, weight_of
from c360.platform.resolution import Candidate, ResolvableRecord


@dataclass(slots=True)
class RecordCandidates:
    """What scoring found for one record: the customers it may join, and the
    candidate records seen per customer (for the contradiction guard)."""

    kind: str = "person"
    scored: dict[int, Candidate] = field(default_factory=dict)
    """customer -> candidate (a steward's must-link, or a score above threshold)"""
    probabilities: dict[int, float] = field(default_factory=dict)
    """customer -> match probability, homonyms included"""
    members: dict[int, list[Features]] = field(default_factory=dict)
    """customer -> the features of its records among the record's candidates"""


def rule_matches(batch: ResolutionBatch, rec: ResolvableRecord) -> dict[int, str]:
    """Customers holding one of the record's identity keys -> the strongest rule's
    key tag, taking each rule's conditions (unique owner, only without) into
    account."""
    rank, rule_of = batch.rule_rank, batch.rule_of
    matched: dict[int, str] = {}
    for key in sorted(batch.identity_keys[rec.record_id], key=lambda k: rank[key_tag(k)]):
        owners = batch.key_owner.get(key, set())
        rule = rule_of[key_tag(key)]
        if rule.only_without and any(rec.attributes.get(a) for a in rule.only_without):
            continue
        if rule.unique_owner and len(owners) != 1:
            continue
        for cid in owners:
            matched.setdefault(cid, rule.key)
    return matched


def scored_candidates(
    conn: Connection, batch: ResolutionBatch, rec: ResolvableRecord, matched: set[int]
) -> RecordCandidates:
    """Customers beyond ``matched`` (found by the rules) the record may join."""
    found = RecordCandidates()
    for other in batch.constraints.must.get(rec.record_id, ()):
        cid = batch.customer_of.get(other)
        if cid is not None:
            found.scored[cid] = Candidate(1.0, {"rule": "manual merge"}, manual=True)
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
        found.probabilities = {cid: c.probability for cid, c in found.scored.items()}
        return found
    found.kind = mine.kind
    prior = model.prior_weight(mine.kind, batch.counts[records_key(mine.kind)])
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
    found.members = members
    best: dict[int, tuple[float, int, list[str]]] = {}
    value_keys = {fv: key for key, fv in mine.values.items()}
    own_records: list[Features] = []

    def own(feature: str, value: str) -> int:
        return sum(1 for f in own_records if f.get(feature) == value)

    tf = term_frequency(batch, mine.kind, own, value_keys)
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
        if any(contradicts(batch, mine.kind, mine.features, other) for other in members[cid]):
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
    above = sorted(
        (
            (cid, held)
            for cid, held in scores.items()
            if held[0] >= threshold and cid not in found.scored
        ),
        key=lambda item: (-item[1][2].match_weight, item[0]),
    )
    kept: list[tuple[int, float]] = []
    ambiguous: set[int] = set()
    margin = settings.ambiguity_margin
    limit = settings.max_cluster_size
    for cid, (_p, rid, score, rules) in above:
        size = batch.size(conn, cid)
        if size + 1 > limit:
            batch.refused_merges.append((cid, cid, size + 1))
            continue
        rivals = [(k, w) for k, w in kept if not distinct_ok(batch, found, k, cid)]
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
        found.scored[cid] = Candidate(evidence["probability"], evidence)
    found.probabilities = {cid: c.probability for cid, c in found.scored.items()}
    for cid in ambiguous:
        found.scored.pop(cid, None)
    return found


def term_frequency(
    batch: ResolutionBatch,
    kind: str,
    own: Callable[[str, str], int],
    keys: dict[tuple[str, str], int],
) -> Callable[[str, str], tuple[float, float]]:
    """Value frequencies among the *other* customers' records: live counts (or
    the training counts scaled to the live data, when larger, so that early
    arrivals are weighed as the whole data set is) less the candidate
    customer's own records with the value (``own``)."""
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


def contradicts(batch: ResolutionBatch, kind: str, fa: Features, fb: Features) -> bool:
    """Two records are different people: they disagree somewhere (a comparison
    weighs against them) and, all told, score below ``distinct_below``. Records
    that merely share little (a phone-only social account, a sign-up without a
    phone) do not contradict each other."""
    model = batch.model
    prior = model.prior_weight(kind, batch.counts[records_key(kind)])
    match_weight, least_weight = model.weigh(kind, fa, fb, prior)
    return least_weight < 0 and probability(match_weight) < model.settings.distinct_below


def distinct_ok(batch: ResolutionBatch, found: RecordCandidates, a: int, b: int) -> bool:
    """False when the records of customers ``a`` and ``b`` seen for the current
    record show they are different people: some pair of them contradicts."""
    left, right = found.members.get(a, []), found.members.get(b, [])
    return not any(contradicts(batch, found.kind, fa, fb) for fa in left for fb in right)


__all__ = [
    "RecordCandidates",
    "contradicts",
    "distinct_ok",
    "rule_matches",
    "scored_candidates",
    "term_frequency",
]
