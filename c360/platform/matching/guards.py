"""Which of a record's candidate customers it may actually join, and which of
them may merge through it.

A candidate is out when a steward split the record from it (cannot-link) or it
carries a different id number / USCC than the record. The rest are taken
strongest first (a steward's must-link, then the rules in their order, then the
match probability, older customers first on ties) and grow a merge group as
long as no two members carry different id numbers, no steward's cannot-link
joins them, and — for a merge only scores propose — the probability clears the
merge threshold, no pair of their records contradicts, and the merged customer
stays within ``max_cluster_size`` (a refusal is kept for the stewards' flags).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from c360.platform.hard_identifiers import hard_conflict
from c360.platform.identity_rules import HARD_KEYS, key_tag
from c360.platform.matching.batch import ResolutionBatch
from c360.platform.matching.candidates import RecordCandidates, distinct_ok
from c360.platform.resolution import ResolvableRecord


@dataclass(slots=True)
class Admission:
    """The customers a record joins (merged into the oldest), and every
    candidate it had (for the evidence of a record that joins none)."""

    group: list[int]
    pool: set[int]
    own_hard: set[str]
    """the record's own id numbers / USCCs (identity keys)"""


def admit(
    conn: Connection,
    batch: ResolutionBatch,
    rec: ResolvableRecord,
    matched: dict[int, str],
    found: RecordCandidates,
) -> Admission:
    """The merge group of the record's compatible candidates, strongest first."""
    hard_ids = batch.hard
    own_hard = {k for k in batch.identity_keys[rec.record_id] if key_tag(k) in HARD_KEYS}
    scored = found.scored
    refused = _refused(batch, rec)
    pool = set(matched) | set(scored)
    compatible = [
        cid for cid in pool if cid not in refused and not hard_ids.conflicts(cid, own_hard)
    ]
    if not compatible:
        return Admission([], pool, own_hard)
    rank = batch.rule_rank
    compatible.sort(key=lambda c: _strength(c, matched, found, rank))
    group = [compatible[0]]
    # The group's id numbers grow as members join, so no two members with
    # different id numbers can both join (cannot-link holds).
    group_hard = set(hard_ids.of(compatible[0])) | own_hard
    for cid in compatible[1:]:
        automatic = cid not in matched and not scored[cid].manual
        if hard_conflict(group_hard, hard_ids.of(cid)):
            continue
        if not _may_merge(conn, batch, found, group, cid, automatic=automatic):
            continue
        group.append(cid)
        group_hard |= hard_ids.of(cid)
    return Admission(group, pool, own_hard)


def _refused(batch: ResolutionBatch, rec: ResolvableRecord) -> set[int]:
    """Customers the record must not join (a steward split it from them)."""
    return {
        batch.customer_of[r]
        for r in batch.constraints.cannot.get(rec.record_id, ())
        if r in batch.customer_of
    }


def _may_merge(
    conn: Connection,
    batch: ResolutionBatch,
    found: RecordCandidates,
    group: list[int],
    customer_id: int,
    *,
    automatic: bool,
) -> bool:
    """Whether ``customer_id`` may join the customers in ``group``."""
    cannot = batch.constraints.cannot
    if cannot:
        members = set(group)
        for rid, others in cannot.items():
            if batch.customer_of.get(rid) == customer_id and any(
                batch.customer_of.get(o) in members for o in others
            ):
                return False
    if not automatic:
        return True
    settings = batch.model.settings
    if found.probabilities.get(customer_id, 1.0) < max(
        settings.merge_threshold, settings.match_threshold
    ) or not all(distinct_ok(batch, found, c, customer_id) for c in group):
        return False
    size = sum(batch.size(conn, c) for c in group) + batch.size(conn, customer_id)
    if size > settings.max_cluster_size:
        batch.refused_merges.append((group[0], customer_id, size))
        return False
    return True


def _strength(
    cid: int, matched: dict[int, str], found: RecordCandidates, rank: dict[str, int]
) -> tuple[int, float, tuple[int, int]]:
    """Sort key, strongest candidate first: a steward's must-link, then the rules
    in their order, then the match probability; older customers first on ties."""
    scored = found.scored
    if cid in scored and scored[cid].manual:
        return (-1, 0.0, age(cid))
    if cid in matched:
        return (rank[matched[cid]], 0.0, age(cid))
    return (len(rank), -scored[cid].probability, age(cid))


def age(customer_id: int) -> tuple[int, int]:
    """Sort key, oldest first: stored customers (positive ids) before those created
    in this batch (negative placeholders, in creation order)."""
    return (0, customer_id) if customer_id > 0 else (1, -customer_id)


__all__ = ["Admission", "admit", "age"]
