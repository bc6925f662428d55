"""The scorecard as plain data: scaling, scoring a batch, grades, reason points.

Training (:mod:`.training`) fits optbinning's :class:`~optbinning.Scorecard` — a
:class:`~optbinning.BinningProcess` of weight-of-evidence bins (monotonic trend
chosen per numerical feature, missing values in their own bin) and a logistic
regression on the WoE — and reads the result out into a JSON-able *spec*: per
feature its bins, WoE, counts and coefficient; the intercept; the scaling; the
grade cut-offs; and a summary of the training sample (for :mod:`.stability`).
Scoring (:func:`score_frame`) needs only the spec (and numpy), vectorized over
a batch:

* ``logit = intercept + Σ coef_f · woe_f`` is the log-odds of default, ``PD = σ(logit)``;
* points are scaled as ``offset + factor · ln(good:bad odds)`` with
  ``factor = PDO / ln 2`` and ``offset = base_score − factor · ln(base_odds)``
  (default 600 points at odds 50:1, 20 points to double the odds);
* so ``points = base_points + Σ factor_points_f`` where ``base_points`` is the
  score of a customer average on every feature (all WoE 0) and
  ``factor_points_f = −factor · coef_f · woe_f`` is what feature *f* adds or
  costs: the reason codes are the factors that cost the most. Each is rounded
  to 0.1 and the points are their sum, so the reasons add up exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

SPEC_FORMAT = 1
GRADES = ("A", "B", "C", "D", "E")
DEFAULT_GRADE_CUTS: dict[str, float] = {"A": 600.0, "B": 580.0, "C": 560.0, "D": 540.0}
"""Lowest points of each grade; below D's is E. At 600 for 50:1 and 20 PDO these
are PDs of about 2 %, 3.8 %, 7.4 % and 13.8 %."""
MIN_AUC = 0.60
"""Cross-validated AUC below which a model is refused (0.5 is a coin)."""
MIN_SAMPLES = 50
MIN_DEFAULTS = 10
REASONS_SHOWN = 4


class ModelRefused(ValueError):
    """A model that must not be used, with the reason (too few outcomes, AUC near 0.5)."""


@dataclass(frozen=True, slots=True)
class Scaling:
    """How log-odds become points."""

    base_score: float = 600.0
    base_odds: float = 50.0
    pdo: float = 20.0

    def __post_init__(self) -> None:
        if self.base_odds <= 0:
            raise ValueError("base_odds: must be above 0")
        if self.pdo <= 0:
            raise ValueError("pdo: must be above 0")

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_score - self.factor * math.log(self.base_odds)


@dataclass(slots=True)
class Validation:
    """Cross-validated quality of a way of training."""

    folds: int
    aucs: list[float] = field(default_factory=list)
    kss: list[float] = field(default_factory=list)

    @property
    def auc(self) -> float:
        return float(np.mean(self.aucs))

    @property
    def auc_std(self) -> float:
        return float(np.std(self.aucs))

    @property
    def ks(self) -> float:
        return float(np.mean(self.kss))

    @property
    def gini(self) -> float:
        return 2 * self.auc - 1


def score_edges(spec: Mapping[str, Any]) -> list[float]:
    base = float(spec["scaling"]["base_score"])
    pdo = float(spec["scaling"]["pdo"])
    inner = [base + pdo * k / 2 for k in range(-8, 9)]
    return [-1e9, *inner, 1e9]


@dataclass(slots=True)
class Scored:
    """A batch scored: per row points, PD, grade, and per feature its points."""

    points: np.ndarray
    pd: np.ndarray
    grades: np.ndarray
    base_points: float
    factor_points: np.ndarray  # rows x features
    bins: np.ndarray  # rows x features: the bin index each value fell in
    names: list[str]


def bin_indices(entry: Mapping[str, Any], values: pd.Series | np.ndarray) -> np.ndarray:
    """The bin each value falls in (the last two indices are "special" and "missing")."""
    n_bins = len(entry["woe"]) - 2
    missing = n_bins + 1
    if entry["dtype"] == "categorical":
        categories = [c for group in entry["categories"] for c in group]
        to_bin = np.array(
            [i for i, group in enumerate(entry["categories"]) for _ in group] + [-1],
            dtype=np.int64,
        )
        # pandas takes a third of a second to import; a server pays it with the
        # first categorical feature it scores, not at start-up.
        import pandas as pd

        series = pd.Series(values, copy=False)
        codes = pd.Categorical(series.astype("string"), categories=categories).codes
        idx = to_bin[codes]  # code -1 (unseen or missing) picks the trailing -1
        idx[series.isna().to_numpy()] = missing
        return idx
    x = np.asarray(values, dtype=float)
    idx = np.searchsorted(np.asarray(entry["splits"], dtype=float), x, side="right")
    idx[np.isnan(x)] = missing
    return idx.astype(np.int64)


def score_frame(spec: Mapping[str, Any], frame: pd.DataFrame) -> Scored:
    """Score every row of ``frame`` (columns named as the spec's features)."""
    scaling = Scaling(**spec["scaling"])
    features = spec["features"]
    n = len(frame)
    woe = np.zeros((n, len(features)))
    bins = np.zeros((n, len(features)), dtype=np.int64)
    coefs = np.array([f["coef"] for f in features])
    for j, entry in enumerate(features):
        if entry["name"] not in frame:
            raise ValueError(f"feature {entry['name']!r}: missing from the data to score")
        idx = bin_indices(entry, frame[entry["name"]].to_numpy())
        table = np.append(np.asarray(entry["woe"], dtype=float), 0.0)  # -1: unseen category
        woe[:, j] = table[idx]
        bins[:, j] = idx
    factor_points = np.round(-scaling.factor * woe * coefs, 1)
    base_points = round(scaling.offset - scaling.factor * float(spec["intercept"]), 1)
    points = np.round(base_points + factor_points.sum(axis=1), 1)
    logit = float(spec["intercept"]) + woe @ coefs
    pd_ = 1.0 / (1.0 + np.exp(-logit))
    return Scored(
        points=points,
        pd=pd_,
        grades=grades_of(spec, points),
        base_points=base_points,
        factor_points=factor_points,
        bins=bins,
        names=[f["name"] for f in features],
    )


def grades_of(spec: Mapping[str, Any], points: np.ndarray) -> np.ndarray:
    cuts = spec["grade_cuts"]
    thresholds = np.array([cuts[g] for g in GRADES[:-1]])
    # points >= A's cut -> 0 (A), ... below D's -> 4 (E)
    index = (points[:, None] < thresholds[None, :]).sum(axis=1)
    return np.array(GRADES)[index]


def grade_of(spec: Mapping[str, Any], points: float) -> str:
    return str(grades_of(spec, np.array([points]))[0])
