"""Training a scorecard with optbinning, validated before it may be stored.

:func:`train` fits optbinning's :class:`~optbinning.Scorecard` (a
:class:`~optbinning.BinningProcess` of WoE bins, each numerical feature's trend
chosen from its data with at most one turn, missing values in their own bin, and
a logistic regression on the WoE whose strength an inner cross-validation
chooses) and reads it out as a spec (:mod:`.scorecard`). Its quality is measured
first by stratified k-fold cross-validation with the binning refitted inside each
fold (:func:`cross_validate`); too few outcomes, or an AUC near 0.5, and the model
is refused (:class:`~.scorecard.ModelRefused`).

Kept apart from :mod:`.scorecard` because optbinning takes seconds to import and
scoring needs none of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, select

from c360.platform import tables as t
from c360.platform.models import utcnow
from c360.platform.risk.features import feature_names, features_of
from c360.platform.risk.model_store import activate, store_model
from c360.platform.risk.scorecard import (
    DEFAULT_GRADE_CUTS,
    GRADES,
    MIN_AUC,
    MIN_DEFAULTS,
    MIN_SAMPLES,
    SPEC_FORMAT,
    ModelRefused,
    Scaling,
    Validation,
    score_edges,
    score_frame,
)

if TYPE_CHECKING:
    from optbinning import Scorecard

# optbinning and scikit-learn take seconds to import; each function that fits
# imports them, so that a training refused for too few outcomes (a small demo,
# a new installation) answers at once.


def ks_statistic(y: np.ndarray, p: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the widest gap between the bad and good score distributions."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    return float(np.max(tpr - fpr))


def usable(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns with enough values to bin (a feature nobody has a value for —
    no bureau data yet, say — has nothing to learn from)."""
    return frame.loc[:, frame.notna().sum() >= MIN_DEFAULTS]


INNER_FOLDS = 5
"""Folds of the cross-validation inside each fit that chooses the regression's strength."""
REGULARISATION_GRID = 10
"""Values of ``C`` tried, log-spaced over 1e-4 … 1e4 (scikit-learn's grid)."""


def _fitted(frame: pd.DataFrame, y: np.ndarray, categorical: Sequence[str]) -> Scorecard:
    from optbinning import BinningProcess, Scorecard
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import StratifiedKFold

    frame = usable(frame)
    names = list(frame.columns)
    process = BinningProcess(
        names,
        categorical_variables=list(categorical),
        binning_fit_params={
            # "auto" (optbinning's own default) lets each numerical feature's
            # prebinned event rates pick ascending, descending, or one turn
            # (peak, valley, concave, convex): risk is often U-shaped in age and
            # in amounts, and a forced monotonic trend flattens that into a line.
            # A turn must be real, not noise: adjacent bins whose default rates
            # do not differ at p < 0.10 are merged. Categories have no order to
            # turn in (optbinning sorts them by event rate), so they keep the
            # plain grouping.
            n: {"monotonic_trend": "auto", "max_pvalue": 0.10}
            for n in names
            if n not in categorical
        },
    )
    # The regression's strength is chosen inside the fit by a stratified
    # cross-validation on this fit's own rows (by AUC, the measure the model is
    # validated and used by): the amount of shrinkage a WoE regression needs
    # depends on how many outcomes there are and how many features carry signal,
    # so no fixed C suits every business. Inside cross_validate this is nested:
    # the held-out fold never takes part in choosing C. No class weights: they
    # would move the intercept and make every PD (hence points and grades)
    # wrong. No selection by information value either: the shrinkage already
    # quiets weak features, and a threshold could leave a small business's
    # first model with nothing to regress on.
    bad = int(np.sum(y))
    inner = min(INNER_FOLDS, bad, len(y) - bad)
    # scikit-learn 1.8 warns until two defaults are spelled out (plain L2, the
    # new attributes); older releases, which pyproject still allows, lack them.
    defaults = LogisticRegressionCV().get_params()
    settled = {
        k: v
        for k, v in (("l1_ratios", (0.0,)), ("use_legacy_attributes", False))
        if defaults.get(k) == "warn"
    }
    card = Scorecard(
        binning_process=process,
        estimator=LogisticRegressionCV(
            Cs=REGULARISATION_GRID,
            cv=StratifiedKFold(n_splits=inner, shuffle=True, random_state=0),
            scoring="roc_auc",
            max_iter=2000,
            **settled,
        ),
        scaling_method=None,
    )
    card.fit(frame, y, metric_missing="empirical", metric_special="empirical")
    return card


def cross_validate(
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    categorical: Sequence[str] = (),
    folds: int = 10,
    seed: int = 17,
) -> Validation:
    """Stratified k-fold AUC and KS, binning and regression fitted inside each fold."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    result = Validation(folds)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(frame, y):
        spec = spec_of(_fitted(frame.iloc[train_idx], y[train_idx], categorical), Scaling())
        scored = score_frame(spec, frame.iloc[test_idx])
        result.aucs.append(float(roc_auc_score(y[test_idx], scored.pd)))
        result.kss.append(ks_statistic(y[test_idx], scored.pd))
    return result


def train(
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    categorical: Sequence[str] = (),
    scaling: Scaling | None = None,
    grade_cuts: Mapping[str, float] | None = None,
    folds: int = 5,
    min_auc: float = MIN_AUC,
    seed: int = 17,
) -> tuple[dict[str, Any], Validation]:
    """Validate, then fit on every outcome; the spec and its validation. Raises
    :class:`ModelRefused` for too few outcomes or a cross-validated AUC below ``min_auc``."""
    y = np.asarray(y, dtype=int)
    if len(y) != len(frame):
        raise ValueError(f"labels: {len(y)} labels for {len(frame)} rows")
    bad = int(y.sum())
    if len(y) < MIN_SAMPLES or bad < MIN_DEFAULTS or len(y) - bad < MIN_DEFAULTS:
        raise ModelRefused(
            f"not enough outcomes to learn from: {len(y)} customers, {bad} defaults "
            f"(at least {MIN_SAMPLES} customers with {MIN_DEFAULTS} defaults and "
            f"{MIN_DEFAULTS} good ones are needed)"
        )
    frame = usable(frame)
    if frame.shape[1] == 0:
        raise ModelRefused("no feature has values for enough customers")
    validation = cross_validate(
        frame, y, categorical=categorical, folds=min(folds, bad, len(y) - bad), seed=seed
    )
    if validation.auc < min_auc:
        raise ModelRefused(
            f"cross-validated AUC {validation.auc:.3f} (± {validation.auc_std:.3f}) is below "
            f"{min_auc:.2f}: the model separates defaults from good customers hardly "
            "better than chance"
        )
    spec = spec_of(_fitted(frame, y, categorical), scaling or Scaling(), grade_cuts)
    scored = score_frame(spec, frame)
    spec["summary"] = {
        "samples": len(y),
        "defaults": bad,
        "default_rate": round(bad / len(y), 4),
        "score_edges": score_edges(spec),
        "score_counts": np.histogram(scored.points, bins=score_edges(spec))[0].tolist(),
        "grades": {g: int((scored.grades == g).sum()) for g in GRADES},
    }
    return spec, validation


def spec_of(
    card: Scorecard, scaling: Scaling, grade_cuts: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """A fitted optbinning scorecard read out as data."""
    process = card.binning_process_
    coefs = dict(zip(process.get_support(names=True), card.estimator_.coef_[0], strict=True))
    features = []
    for name in process.variable_names:
        binned = process.get_binned_variable(name)
        table = binned.binning_table.build()
        table = table.drop(index="Totals", errors="ignore")
        entry: dict[str, Any] = {
            "name": name,
            "dtype": binned.dtype,
            "coef": float(coefs.get(name, 0.0)),
            "bins": [
                str(b) if not isinstance(b, list | np.ndarray) else ", ".join(map(str, b))
                for b in table["Bin"]
            ],
            "woe": [float(w) for w in table["WoE"]],
            "counts": [int(c) for c in table["Count"]],
            "event_rates": [float(r) for r in table["Event rate"].fillna(0.0)],
        }
        if binned.dtype == "categorical":
            entry["categories"] = [[str(c) for c in group] for group in binned.splits]
        else:
            entry["splits"] = [float(s) for s in binned.splits]
        features.append(entry)
    cuts = dict(grade_cuts or DEFAULT_GRADE_CUTS)
    if sorted(cuts) != list(GRADES[:-1]) or any(
        cuts[a] <= cuts[b] for a, b in itertools.pairwise(GRADES[:-1])
    ):
        raise ValueError("grade_cuts: need falling points for A, B, C and D")
    return {
        "format": SPEC_FORMAT,
        "features": features,
        "intercept": float(card.estimator_.intercept_[0]),
        "scaling": {
            "base_score": scaling.base_score,
            "base_odds": scaling.base_odds,
            "pdo": scaling.pdo,
        },
        "grade_cuts": cuts,
    }


def training_set(conn: Connection, *, now: datetime) -> tuple[pd.DataFrame, np.ndarray, list[int]]:
    """The customers with outcomes (invoiced at least once, or defaulted): their
    features (behaviour up to now) and whether they defaulted."""
    ev = t.event
    ids = sorted(
        int(c)
        for c in conn.execute(
            select(ev.c.customer_id)
            .where(ev.c.customer_id.is_not(None), ev.c.event_type.in_(("invoice", "default")))
            .distinct()
        ).scalars()
    )
    features, behaviour = features_of(conn, ids, now=now)
    live = sorted(features)
    frame = pd.DataFrame([features[c] for c in live], index=live, columns=feature_names())
    labels = np.array([1 if behaviour[c].bad else 0 for c in live], dtype=int)
    return frame, labels, live


def train_from_outcomes(
    engine: Engine,
    *,
    actor: str,
    scaling: Scaling | None = None,
    grade_cuts: Mapping[str, float] | None = None,
    activate_it: bool = False,
    note: str = "",
    now: datetime | None = None,
    min_auc: float = MIN_AUC,
) -> tuple[int, Validation, int | None]:
    """Train on the business's own outcomes and store the model as a candidate
    (activated too with ``activate_it``); (version, validation, version replaced)."""
    now = now or utcnow()
    with engine.connect() as conn:
        frame, labels, _ = training_set(conn, now=now)
    spec, validation = train(frame, labels, scaling=scaling, grade_cuts=grade_cuts, min_auc=min_auc)
    replaced = None
    with engine.begin() as conn:
        version = store_model(conn, spec, validation, created_by=actor, note=note)
        if activate_it:
            replaced = activate(conn, version, actor=actor)
    return version, validation, replaced
