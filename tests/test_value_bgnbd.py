"""BG/NBD expectations (:mod:`c360.platform.value.bgnbd`) checked two
independent ways: against the numbers BTYD's walkthrough prints for the CDNOW
parameters (BTYD 2.4.3, ``inst/doc/BTYD-walkthrough.pdf``, section 4), and
against a seeded simulation of the BG/NBD purchase process itself
(``bench.clv.simulate``), which uses none of the closed forms (no 2F1, no
P(alive))."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from bench.clv import CALIBRATION_END, load, simulate
from c360.platform.value.bgnbd import BgNbd
from c360.platform.value.rfm import DAYS_PER_UNIT, summarize

# BTYD's fitted CDNOW parameters, as its walkthrough prints them (p.matrix row 3)
BTYD = BgNbd(r=0.2425967, alpha=4.413659, a=0.7929869, b=2.426164)
PUBLISHED = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)


def test_the_closed_forms_give_btyds_printed_values() -> None:
    # bgnbd.Expectation(params, t=52)
    assert float(BTYD.expected_purchases_new(52.0)) == pytest.approx(1.444004, rel=1e-6)
    # customer "1516": x 26, t.x 30.85714 (216 days), T.cal 31
    x, t_x, T = 26.0, 216 / 7, 31.0
    assert float(BTYD.expected_purchases(52.0, x, t_x, T)) == pytest.approx(25.75659, rel=1e-6)
    assert float(BTYD.p_alive(x, t_x, T)) == pytest.approx(0.9688523, rel=1e-6)
    # the "increasing frequency paradox": t.x 20, T.cal 39, T.star 52
    printed = [0.3474606, 0.04283391, 0.004158973, 0.0003583685]
    got = BTYD.expected_purchases(52.0, np.array([10.0, 15.0, 20.0, 25.0]), 20.0, 39.0)
    np.testing.assert_allclose(got, printed, rtol=1e-6)


def test_cdnow_cohort_tracking_matches_btyds_walkthrough() -> None:
    """bgnbd.PlotTrackingCum's weeks 20-25: BTYD places each customer's birth at
    max(T.cal) - T.cal weeks after 1 January 1997 and sums E[X(week - birth)]."""
    customer, day, amount = load()
    ids = np.unique(customer)
    calib = summarize(customer, day, amount, as_of=CALIBRATION_END, customers=ids)
    birth = (calib.first - dt.date(1997, 1, 1).toordinal()) / DAYS_PER_UNIT
    np.testing.assert_allclose(birth, calib.age.max() - calib.age)
    weeks = np.arange(20, 26, dtype=np.float64)
    got = [float(BTYD.expected_purchases_new(w - birth).sum()) for w in weeks]
    printed = [1312.458, 1387.346, 1460.392, 1531.713, 1601.418, 1669.6]
    np.testing.assert_allclose(got, printed, atol=2e-3)


def close(simulated: np.ndarray, predicted: np.ndarray) -> None:
    """The simulated mean equals the predicted mean within 4 standard errors."""
    se = simulated.std(ddof=1) / np.sqrt(simulated.size)
    assert abs(simulated.mean() - predicted.mean()) < 4 * se, (simulated.mean(), predicted.mean())


def test_expectations_agree_with_a_simulated_bg_nbd_process() -> None:
    rng = np.random.default_rng(2005)
    n, horizon = 200_000, 39.0
    # ages like the CDNOW cohort's at the end of calibration (births over 12 weeks)
    T = rng.uniform(27.0, 39.0, n)
    x, t_x, alive, later = simulate(PUBLISHED, T, horizon, rng)
    close(x + later, PUBLISHED.expected_purchases_new(T + horizon))
    close(x, PUBLISHED.expected_purchases_new(T))
    close(alive.astype(np.float64), PUBLISHED.p_alive(x, t_x, T))
    close(later, PUBLISHED.expected_purchases(horizon, x, t_x, T))
    # and per calibration frequency, where eq. 10 does the conditioning
    for group in (x == 0, x == 1, (x >= 2) & (x <= 4), x >= 5):
        close(later[group], PUBLISHED.expected_purchases(horizon, x[group], t_x[group], T[group]))
