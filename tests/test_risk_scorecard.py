"""The scorecard as data: it scores as optbinning does, its reason points add up
to the score, a model near AUC 0.5 or without enough outcomes is refused, the
scaling is the one asked for; the policy table and PSI."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from c360.platform.risk.decisions import POLICY_FILE, Policy, PolicyError, load_policy
from c360.platform.risk.scorecard import ModelRefused, Scaling, score_frame
from c360.platform.risk.stability import psi
from c360.platform.risk.training import _fitted, spec_of, train
from tests.risk_helpers import population


@pytest.fixture(scope="module")
def trained() -> tuple[dict, object]:
    frame, y = population()
    return train(frame, y, folds=3)


def test_scoring_from_the_stored_spec_matches_optbinning_and_the_scaling() -> None:
    frame, y = population(800, seed=3)
    card = _fitted(frame, y, [])
    spec = spec_of(card, Scaling(600, 50, 20))
    spec = json.loads(json.dumps(spec))  # what the database gives back
    scored = score_frame(spec, frame)
    assert np.allclose(scored.pd, card.predict_proba(frame)[:, 1], atol=1e-9)
    # points = 600 + 20·log2(odds / 50), to the rounding of each factor to 0.1
    odds = (1 - scored.pd) / scored.pd
    expected = 600 + 20 * np.log2(odds / 50)
    assert np.max(np.abs(scored.points - expected)) <= 0.05 * (len(spec["features"]) + 1) + 1e-9


def test_reason_points_and_the_base_add_up_to_the_score(trained: tuple[dict, object]) -> None:
    spec, _ = trained
    frame, _ = population(500, seed=11)
    scored = score_frame(spec, frame)
    total = np.round(scored.base_points + scored.factor_points.sum(axis=1), 1)
    assert np.array_equal(total, scored.points)
    assert len(set(scored.grades)) >= 3  # the grades spread over the population


def test_a_u_shaped_risk_keeps_its_turn_and_the_strength_is_chosen_inside_the_fit() -> None:
    rng = np.random.default_rng(4)
    n = 1200
    frame = pd.DataFrame(
        {
            "age_years": rng.uniform(20, 75, n).round(1),
            "overdue_events": rng.poisson(0.8, n).astype(float),
        }
    )
    # the young and the old default more than the middle-aged; more overdue
    # notices, more defaults
    logit = -2.2 + 0.0025 * (frame["age_years"] - 45) ** 2 + 0.6 * frame["overdue_events"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    card = _fitted(frame, y, [])
    spec = spec_of(card, Scaling())
    rates = {f["name"]: f["event_rates"][:-2] for f in spec["features"]}  # less special, missing
    age = rates["age_years"]
    lowest = int(np.argmin(age))
    assert 0 < lowest < len(age) - 1, age  # a valley, not forced into a line
    assert age[0] > age[lowest] + 0.1 and age[-1] > age[lowest] + 0.1, age
    overdue = rates["overdue_events"]
    assert len(overdue) >= 2 and all(a <= b for a, b in itertools.pairwise(overdue)), overdue
    # C came from the inner cross-validation's grid, and the spec holds the
    # coefficients it chose
    assert float(np.ravel(card.estimator_.C_)[0]) in np.logspace(-4, 4, 10)
    assert [f["coef"] for f in spec["features"]] == list(card.estimator_.coef_[0])


def test_a_model_trained_on_shuffled_labels_is_refused() -> None:
    frame, y = population(600, seed=5)
    shuffled = np.random.default_rng(1).permutation(y)
    with pytest.raises(ModelRefused, match=r"cross-validated AUC 0\.[3-5]\d* .* below 0\.60"):
        train(frame, shuffled, folds=3)


def test_the_real_labels_train_a_model_that_separates(trained: tuple[dict, object]) -> None:
    spec, validation = trained
    assert validation.auc > 0.65  # type: ignore[attr-defined]
    assert spec["summary"]["samples"] == 1500
    assert sum(spec["summary"]["score_counts"]) == 1500


def test_too_few_outcomes_are_refused_with_the_counts() -> None:
    frame, y = population(40)
    with pytest.raises(ModelRefused, match="not enough outcomes to learn from: 40 customers"):
        train(frame, y)


def test_bad_scaling_and_grade_cuts_name_the_field() -> None:
    with pytest.raises(ValueError, match="pdo: must be above 0"):
        Scaling(pdo=0)
    frame, y = population(300, seed=2)
    card = _fitted(frame, y, [])
    with pytest.raises(ValueError, match="grade_cuts"):
        spec_of(card, Scaling(), {"A": 500, "B": 600, "C": 560, "D": 540})


def test_policy_gives_a_guarantee_for_d_refusal_for_e_and_review_near_a_boundary() -> None:
    policy = load_policy()
    cuts = {"A": 600.0, "B": 580.0, "C": 560.0, "D": 540.0}
    c = policy.recommend("C", 570, cuts, kind="organization", capital_wan=500, exposure=0)
    assert (c.org_size, c.credit_limit, c.manual_review) == ("small", 300000, False)
    d = policy.recommend("D", 550, cuts, kind="organization", capital_wan=500, exposure=0)
    assert "guarantee or collateral required" in d.measures and d.credit_limit == 150000
    e = policy.recommend("E", 500, cuts, kind="person", capital_wan=None, exposure=0)
    assert e.credit_limit == 0 and any("refuse" in m for m in e.measures)
    near = policy.recommend("B", 582, cuts, kind="person", capital_wan=None, exposure=0)
    assert near.manual_review and "2.0 points from a grade boundary" in near.measures[-1]
    owed = policy.recommend("A", 650, cuts, kind="person", capital_wan=None, exposure=250000)
    assert owed.manual_review and "exposure 250,000 is above the limit 200,000" in owed.measures[-1]


def test_a_bad_policy_table_is_refused_naming_the_field(tmp_path: Path) -> None:
    data = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    data["rules"][0]["grade"] = "F"
    with pytest.raises(PolicyError, match=r"rules\[0\]\.grade: expected one of A, B, C, D, E"):
        Policy.from_mapping(data)
    data = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    data["rules"] = [r for r in data["rules"] if r["grade"] != "E"]
    with pytest.raises(PolicyError, match="no rule for grade E"):
        Policy.from_mapping(data)
    broken = tmp_path / "policy.json"
    broken.write_text('{"version": ', encoding="utf-8")
    with pytest.raises(PolicyError, match="not JSON"):
        load_policy(broken)


def test_psi_is_zero_for_the_same_population_and_warns_for_a_shifted_one() -> None:
    assert psi([10, 20, 30], [20, 40, 60]) == pytest.approx(0.0)
    shifted = psi([50, 30, 20], [10, 30, 60])
    assert shifted > 0.25 and math.isfinite(psi([10, 0, 5], [0, 10, 5]))
