"""Scores identity resolution against a ground truth: pairwise precision, recall
and F1 over the records the truth covers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, select

from c360.platform import tables as t


@dataclass(frozen=True, slots=True)
class PairwiseScore:
    """Pairwise linkage quality."""

    records: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    unlinked_records: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score_links(
    engine: Engine, truth: Mapping[tuple[str, str, str], str], *, accepted_only: bool = False
) -> PairwiseScore:
    """Compare the customers records are linked to with the true entities.

    Records without a link (quarantined) count as singletons, so their missed
    pairs lower recall — unless ``accepted_only``, which scores only the records
    that passed validation."""
    sr, rl, cu = t.source_record, t.record_link, t.customer
    predicted: dict[tuple[str, str, str], int] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                sr.c.source_name, sr.c.stream, sr.c.external_id, rl.c.customer_id, cu.c.merged_into
            )
            .join(rl, rl.c.record_id == sr.c.id)
            .join(cu, cu.c.id == rl.c.customer_id)
        )
        for source, stream, ext, cid, merged_into in rows:
            predicted[(source, stream, ext)] = merged_into or cid
    keys = [k for k in truth if not accepted_only or k in predicted]
    unlinked = sum(1 for k in keys if k not in predicted)
    true_groups = Counter(truth[k] for k in keys)
    cluster_of = {k: predicted.get(k, -(i + 1)) for i, k in enumerate(keys)}
    pred_groups = Counter(cluster_of.values())
    joint = Counter((truth[k], cluster_of[k]) for k in keys)
    return PairwiseScore(
        records=len(keys),
        true_pairs=sum(_pairs(n) for n in true_groups.values()),
        predicted_pairs=sum(_pairs(n) for n in pred_groups.values()),
        correct_pairs=sum(_pairs(n) for n in joint.values()),
        unlinked_records=unlinked,
    )
