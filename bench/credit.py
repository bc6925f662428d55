"""How well does c360's scorecard rank applicants, and how fast does it score?

1. **Quality** on the German Credit data (1,000 applicants, 300 bad; the CSV and
   its licence are in ``bench/data/german_credit``): stratified 10-fold
   cross-validation with the WoE binning *and* the logistic regression fitted
   inside each fold (:func:`c360.platform.risk.training.cross_validate`, the same
   code ``c360 credit train`` validates with), scored from the stored spec.
   Prints the mean AUC, its spread over folds, KS and Gini.
2. **Speed**: one model's spec applied to 1,000,000 synthetic customers in one
   batch (:func:`c360.platform.risk.scorecard.score_frame`: points, PD, grade and
   every factor's points), ``score_customers_per_s``.

Prints ``name=value`` lines, the summary last::

    python bench/credit.py                  # 10 folds, 1,000,000 customers
    python bench/credit.py --repeats 3      # the CV over three shuffles: medians
    python bench/credit.py --smoke          # 3 folds, 20,000 customers, for CI
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from c360.platform.risk.scorecard import Scaling, score_frame
from c360.platform.risk.training import _fitted, cross_validate, spec_of

DATA = Path(__file__).parent / "data" / "german_credit" / "germancredit.csv"
TARGET = "creditability"


def load() -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    frame = pd.read_csv(DATA)
    y = (frame.pop(TARGET) == "bad").astype(int).to_numpy()
    categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    return frame, y, categorical


def synthetic(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` customers drawn column by column from the applicants' values."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {c: frame[c].to_numpy()[rng.integers(0, len(frame), n)] for c in frame.columns}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=1, help="CV shuffles (seeds 17, 18, ...)")
    parser.add_argument("--smoke", action="store_true", help="3 folds, 20,000 customers")
    args = parser.parse_args()
    if args.smoke:
        args.folds, args.customers = 3, 20_000
    frame, y, categorical = load()
    print(f"applicants={len(y)} bad={int(y.sum())} features={frame.shape[1]}")
    aucs, stds, kss = [], [], []
    started = time.perf_counter()
    for repeat in range(args.repeats):
        v = cross_validate(frame, y, categorical=categorical, folds=args.folds, seed=17 + repeat)
        aucs.append(v.auc)
        stds.append(v.auc_std)
        kss.append(v.ks)
        print(f"run={repeat + 1} auc={v.auc:.4f} auc_std={v.auc_std:.4f} ks={v.ks:.4f}")
    cv_s = time.perf_counter() - started
    spec = spec_of(_fitted(frame, y, categorical), Scaling())
    batch = synthetic(frame, args.customers, seed=5)
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        scored = score_frame(spec, batch)
        timings.append(time.perf_counter() - t0)
    seconds = statistics.median(timings)
    grades = {g: int((scored.grades == g).sum()) for g in "ABCDE"}
    print("grades=" + ",".join(f"{g}:{n}" for g, n in grades.items()))
    load_avg = (
        Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    )
    print(f"cv_seconds={cv_s:.1f} score_seconds={seconds:.2f} loadavg={load_avg}")
    auc = statistics.median(aucs)
    print(
        f"folds={args.folds} customers={args.customers} "
        f"score_customers_per_s={args.customers / seconds:.0f} "
        f"auc={auc:.4f} auc_std={statistics.median(stds):.4f} "
        f"ks={statistics.median(kss):.4f} gini={2 * auc - 1:.4f}"
    )


if __name__ == "__main__":
    main()
