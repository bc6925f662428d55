"""CLV benchmark on CDNOW: BG/NBD and Gamma-Gamma fitted by c360's own
implementation (:mod:`c360.platform.value`) against the published estimates.

    python -m bench.clv            # the full check (well under a second)
    python -m bench.clv --smoke    # the same (it is small), for CI

Data: ``bench/data/cdnow/CDNOW_sample.txt`` (see its README): the 1/10 sample of
the CDNOW cohort of 23,570 customers who first bought in Q1 1997, 2,357
customers, their purchases to 30 June 1998. Calibration is the standard 39 weeks
(to 30 September 1997), holdout the next 39 weeks. Summary statistics are
computed from the transactions by :func:`c360.platform.value.rfm.summarize`
(purchases on one day are one occasion), in weeks.

Published values: BG/NBD r 0.243, α 4.414, a 0.793, b 2.426, LL −9582.4
(Fader, Hardie & Lee 2005, Table 1); Gamma-Gamma p 6.25, q 3.74, γ 15.44
(Fader & Hardie 2013, note on the Gamma-Gamma model). Holdout checks: the sum
over customers of the conditional expectation E[Y(39) | x, t_x, T] against the
repeat purchases actually made in the holdout, and the cohort's cumulative
repeat purchases at week 78 predicted by E[X(t)] from each customer's first
purchase (the paper's tracking plot) against the actual.

Last line::

    r=… alpha=… a=… b=… ll=… p=… q=… gamma=… holdout_actual=… holdout_predicted=…
    holdout_error_pct=… cum78_error_pct=… holdout_within_2pct=… params_match=…

(one line; wrapped here)
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np

from c360.platform.value.bgnbd import fit_bgnbd
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


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, day ordinal, amount) per transaction line."""
    raw = np.loadtxt(DATA, dtype=str)
    customer = raw[:, 1].astype(np.int64)
    day = np.array(
        [dt.date(int(s[:4]), int(s[4:6]), int(s[6:])).toordinal() for s in raw[:, 2]],
        dtype=np.float64,
    )
    return customer, day, raw[:, 4].astype(np.float64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="same run (the data is small)")
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
        f"r={model.r:.3f} alpha={model.alpha:.3f} a={model.a:.3f} b={model.b:.3f} "
        f"ll={model.ll:.1f} p={money.p:.2f} q={money.q:.2f} gamma={money.gamma:.2f} "
        f"holdout_actual={actual:.0f} holdout_predicted={predicted:.1f} "
        f"holdout_error_pct={holdout_error:.2f} cum78_error_pct={cum_error:.2f} "
        f"holdout_within_2pct={'yes' if within else 'no'} "
        f"params_match={'yes' if match else 'no'}"
    )


if __name__ == "__main__":
    main()
