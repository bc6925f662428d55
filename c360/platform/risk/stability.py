"""Population stability: has today's population drifted from the training sample?

PSI = Σ (today − train) · ln(today / train) over the shares of each bin — the
model's own bins for each feature, half-PDO bands for the score. Under 0.10 is
stable, 0.10–0.25 worth watching, over :data:`WARN_PSI` (0.25) a warning: the
model no longer describes the customers it scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from sqlalchemy import Connection, select

from c360.platform.risk.models import credit_score
from c360.platform.risk.scorecard import bin_indices

WARN_PSI = 0.25
WATCH_PSI = 0.10
_FLOOR = 1e-4  # an empty bin's share, so the logarithm stays finite


def psi(expected: Sequence[float] | ArrayLike, actual: Sequence[float] | ArrayLike) -> float:
    """The population stability index between two sets of bin counts."""
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape:
        raise ValueError("psi: both distributions need the same bins")
    if e.sum() == 0 or a.sum() == 0:
        return 0.0
    e = np.maximum(e / e.sum(), _FLOOR)
    a = np.maximum(a / a.sum(), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True, slots=True)
class Stability:
    name: str
    psi: float
    customers: int

    @property
    def verdict(self) -> str:
        if self.psi > WARN_PSI:
            return "warning"
        return "watch" if self.psi > WATCH_PSI else "stable"


def stability_report(conn: Connection, model: Mapping[str, Any]) -> list[Stability]:
    """PSI of the score and of each feature, between the model's training sample
    and the customers it scores today (first the score, then features, worst first)."""
    spec = model["spec"]
    rows = conn.execute(
        select(credit_score.c.points, credit_score.c.features).where(
            credit_score.c.model_version == model["version"],
            credit_score.c.status == "scored",
        )
    ).all()
    if not rows:
        return []
    summary = spec.get("summary") or {}
    points = np.array([r.points for r in rows], dtype=float)
    today = np.histogram(points, bins=summary["score_edges"])[0]
    report = [Stability("score", round(psi(summary["score_counts"], today), 4), len(rows))]
    frame = pd.DataFrame([r.features for r in rows])
    per_feature = []
    for entry in spec["features"]:
        if entry["name"] not in frame:
            continue
        values = frame[entry["name"]].astype(float).to_numpy()
        idx = bin_indices(entry, values)
        counts = np.bincount(idx[idx >= 0], minlength=len(entry["counts"]))
        per_feature.append(
            Stability(entry["name"], round(psi(entry["counts"], counts), 4), len(rows))
        )
    per_feature.sort(key=lambda s: -s.psi)
    return report + per_feature
