"""CLV benchmark on CDNOW: BG/NBD and Gamma-Gamma fitted by c360's own
implementation (:mod:`c360.platform.value`) against the published estimates.

    python -m bench.clv            # the full check (a few seconds)
    python -m bench.clv --smoke    # 100 simulated cohorts instead of 1,000, for CI

Data: ``bench/data/cdnow/CDNOW_sample.txt`` (see its README): the 1/10 sample of
the CDNOW cohort of 23,570 customers who first bought in Q1 1997, 2,357
customers, their purchases to 30 June 1998. Calibration is the standard 39 weeks
(to 30 September 1997), holdout the next 39 weeks. Summary statistics are
computed from the transactions by :func:`c360.platform.value.rfm.summarize`
(purchases on one day are one occasion), in weeks.

Published values: BG/NBD r 0.243, α 4.414, a 0.793, b 2.426, LL −9582.4
(Fader, Hardie & Lee 2005, Table 2); Gamma-Gamma p 6.25, q 3.74, γ 15.44
(Fader & Hardie 2013, note on the Gamma-Gamma model). Holdout checks: the sum
over customers of the conditional expectation E[Y(39) | x, t_x, T] (eq. 10, the
paper's Figure 3 by calibration frequency) against the repeat purchases actually
made in the holdout; the same holdout predicted without conditioning, by the
cohort's tracking curve (E[X(t)] from each customer's first purchase, as the
paper tracks total repeat transactions) between weeks 39 and 78; and that curve's
cumulative total at week 78 against the actual. And how close a perfect model
would come: 1,000 cohorts of these ages simulated from the fitted parameters
(:func:`simulate`), each scored by the conditional sum against its own simulated
holdout (parameters known, not refitted, so this slightly understates the spread).

What the paper reports for the holdout (section 4): "both models track the
actual (cumulative) sales trajectory, with the Pareto/NBD performing slightly
better than the BG/NBD (under-forecasting by 2% versus 4%)" — the 2 % is the
Pareto/NBD's, the BG/NBD's is 4 % (``cum78_paper_error_pct``). For the
conditional expectations it gives per-group means (zero class 0.23 against
334/1,411 = 0.24 actual) and no holdout total.

Last line::

    r=… alpha=… a=… b=… ll=… p=… q=… gamma=… holdout_actual=… holdout_predicted=…
    holdout_error_pct=… holdout_tracking_predicted=… holdout_tracking_error_pct=…
    cum78_error_pct=… cum78_paper_error_pct=… cum78_matches_paper=…
    holdout_within_2pct=… params_match=…

(one line; wrapped here)
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np

from c360.platform.value.bgnbd import BgNbd, fit_bgnbd
from c360.platform.value.gamma_gamma import fit_gamma_gamma
from c360.platform.value.rfm import DAYS_PER_UNIT, summarize

DATA = Path(__file__).parent / "data" / "cdnow" / "CDNOW_sample.txt"
CALIBRATION_END = dt.date(1997, 9, 30).toordinal()
HOLDOUT_END = dt.date(1998, 6, 30).toordinal()
PUBLISHED = {
    "r": 0.243,
    "alpha": 4.414,
    "a": 0.793,
    "b": 2.426,
    "ll": -9582.4,
    "p": 6.25,
    "q": 3.74,
    "gamma": 15.44,
}
PUBLISHED_CUM78_ERROR_PCT = -4
"""The BG/NBD's week-78 cumulative error in the paper, in whole percent."""


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, day ordinal, amount) per transaction line."""
    raw = np.loadtxt(DATA, dtype=str)
    customer = raw[:, 1].astype(np.int64)
    day = np.array(
        [dt.date(int(s[:4]), int(s[4:6]), int(s[6:])).toordinal() for s in raw[:, 2]],
        dtype=np.float64,
    )
    return customer, day, raw[:, 4].astype(np.float64)


def simulate(
    model: BgNbd, T: np.ndarray, horizon: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One draw of the BG/NBD process per customer, with none of its closed forms:
    λ ~ Gamma(r, α), p ~ Beta(a, b); purchases arrive as Poisson(λ) and the
    customer leaves right after their K-th repeat purchase, K ~ Geometric(p) on
    1, 2, …, so X(t) = min(N(t), K). Returns x, t_x and alive at ``T``, and the
    repeats in (T, T + horizon]."""
    n = T.size
    lam = rng.gamma(model.r, 1 / model.alpha, n)
    p = rng.beta(model.a, model.b, n)
    k = rng.geometric(p)
    n_cal = rng.poisson(lam * T)
    n_all = n_cal + rng.poisson(lam * horizon)
    x = np.minimum(n_cal, k)
    # given N(T) = n the arrivals are n uniform order statistics on (0, T); the
    # last one kept is the x-th: T · Beta(x, n - x + 1)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), n_cal - x + 1), 0.0)
    later = np.minimum(n_all, k) - x
    return x.astype(np.float64), t_x, n_cal < k, later.astype(np.float64)


def model_noise(model: BgNbd, T: np.ndarray, horizon: float, cohorts: int) -> np.ndarray:
    """Relative error (%) of the conditional holdout sum against the holdout of
    each of ``cohorts`` simulated cohorts of these ages, the model being true:
    how close to the actual a perfect model gets on a cohort this size."""
    rng = np.random.default_rng(2005)
    errors = np.empty(cohorts)
    for i in range(cohorts):
        x, t_x, _, later = simulate(model, T, horizon, rng)
        total = later.sum()
        errors[i] = 100 * (model.expected_purchases(horizon, x, t_x, T).sum() - total) / total
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="100 simulated cohorts, one fit")
    parser.add_argument("--repeat", type=int, default=3, help="fits to time (median reported)")
    args = parser.parse_args()

    customer, day, amount = load()
    ids = np.unique(customer)
    calib = summarize(customer, day, amount, as_of=CALIBRATION_END, customers=ids)
    full = summarize(customer, day, amount, as_of=HOLDOUT_END, customers=ids)
    x, t_x, T = calib.repeats, calib.t_x, calib.age

    timings = []
    for _ in range(1 if args.smoke else max(1, args.repeat)):
        started = time.perf_counter()
        model = fit_bgnbd(x, t_x, T)
        money = fit_gamma_gamma(x, calib.repeat_value)
        timings.append(time.perf_counter() - started)

    holdout_weeks = (HOLDOUT_END - CALIBRATION_END) / DAYS_PER_UNIT
    actual = float((full.occasions - calib.occasions).sum())
    predicted = float(model.expected_purchases(holdout_weeks, x, t_x, T).sum())
    holdout_error = 100 * (predicted - actual) / actual
    # the tracking plot: each customer's repeats from their first purchase to week 78
    horizon = (HOLDOUT_END - calib.first) / DAYS_PER_UNIT
    cum_predicted = float(model.expected_purchases_new(horizon).sum())
    cum_actual = float(full.repeats.sum())
    cum_error = 100 * (cum_predicted - cum_actual) / cum_actual
    # the holdout's share of that curve: no customer's own history used
    tracking = cum_predicted - float(model.expected_purchases_new(T).sum())
    tracking_error = 100 * (tracking - actual) / actual
    noise = model_noise(model, T, holdout_weeks, cohorts=100 if args.smoke else 1000)

    got = {
        "r": model.r,
        "alpha": model.alpha,
        "a": model.a,
        "b": model.b,
        "ll": model.ll,
        "p": money.p,
        "q": money.q,
        "gamma": money.gamma,
    }
    # 3 decimals where the paper gives 3, else the paper's own precision
    decimals = {"ll": 1, "p": 2, "q": 2, "gamma": 2}
    match = all(round(got[k], decimals.get(k, 3)) == PUBLISHED[k] for k in PUBLISHED)
    within = abs(holdout_error) <= 2 and abs(cum_error) <= 2
    print(f"customers={ids.size} repeat_customers={int((x > 0).sum())} calibration_weeks=39")
    print(f"fit_s_median={sorted(timings)[len(timings) // 2]:.3f} fits={len(timings)}")
    print(f"cum78_actual={cum_actual:.0f} cum78_predicted={cum_predicted:.1f}")
    print(f"population_aov={money.population_mean:.2f}")
    print(
        f"simulated_cohorts={noise.size} holdout_model_sd_pct={noise.std(ddof=1):.2f} "
        f"holdout_model_within_2pct_share={np.mean(np.abs(noise) <= 2):.3f} "
        f"holdout_model_as_far_off_share={np.mean(noise <= holdout_error):.4f}"
    )
    print(
        f"r={model.r:.3f} alpha={model.alpha:.3f} a={model.a:.3f} b={model.b:.3f} "
        f"ll={model.ll:.1f} p={money.p:.2f} q={money.q:.2f} gamma={money.gamma:.2f} "
        f"holdout_actual={actual:.0f} holdout_predicted={predicted:.1f} "
        f"holdout_error_pct={holdout_error:.2f} holdout_tracking_predicted={tracking:.1f} "
        f"holdout_tracking_error_pct={tracking_error:.2f} cum78_error_pct={cum_error:.2f} "
        f"cum78_paper_error_pct={PUBLISHED_CUM78_ERROR_PCT} "
        f"cum78_matches_paper={'yes' if round(cum_error) == PUBLISHED_CUM78_ERROR_PCT else 'no'} "
        f"holdout_within_2pct={'yes' if within else 'no'} "
        f"params_match={'yes' if match else 'no'}"
    )


if __name__ == "__main__":
    main()
