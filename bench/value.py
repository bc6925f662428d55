"""Value scoring at scale: RFM + CLV + stage + tier + tags for a million customers
through the code the refresher and ``c360 value refresh`` use
(:func:`c360.platform.value.scoring.score`), without the database.

    python -m bench.value            # 1,000,000 customers, 3 runs, the median printed
    python -m bench.value --smoke    # 20,000 customers, one run (CI)

Data: seeded synthetic order histories over two years: each customer buys at a
Gamma-distributed Poisson rate and drops out after each purchase with a
Beta-distributed probability (the BG/NBD story itself), spends a Gamma amount
per order; 30% of customers never buy. The model is fitted once on a 50,000
customer sample (reported apart as ``fit_s``); ``score_s`` is the median over the
runs of summarizing the order rows (full history and RFM window) and scoring
everyone. Target: ``score_s`` ≤ 30 for 1,000,000 customers.

Last line::

    customers=… orders=… fit_s=… score_s=… score_customers_per_s=… target_s=30 within_target=…
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from c360.platform.value.bgnbd import fit_bgnbd
from c360.platform.value.gamma_gamma import fit_gamma_gamma
from c360.platform.value.rfm import summarize
from c360.platform.value.rules import load_rules
from c360.platform.value.scoring import Model, population_cuts, rfm_cuts, score

HORIZON_DAYS = 730.0


def orders(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer, day, amount) rows for ``n`` customers."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(0, HORIZON_DAYS * 0.9, n)
    buyer = rng.random(n) > 0.3
    rate = rng.gamma(0.6, 1 / 12.0, n)  # purchases per day while alive
    drop = rng.beta(0.8, 3.0, n)
    # purchases while alive: a geometric number of repeats, each after an exponential gap
    repeats = np.minimum(rng.geometric(np.clip(drop, 1e-3, 1)) - 1, 60)
    count = np.where(buyer, 1 + repeats, 0)
    customer = np.repeat(np.arange(n, dtype=np.int64), count)
    gaps = rng.exponential(1.0, customer.size) / np.maximum(rate[customer], 1e-4)
    first_of = np.concatenate([[0], np.cumsum(count)[:-1]])
    position = np.arange(customer.size) - np.repeat(first_of, count)
    gaps[position == 0] = 0.0
    cumulative = np.cumsum(gaps)
    heads = first_of[count > 0]  # each buyer's first order row (its gap is 0)
    day = start[customer] + cumulative - np.repeat(cumulative[heads], count[count > 0])
    keep = day <= HORIZON_DAYS
    amount = rng.gamma(3.0, 40.0, customer.size)
    return customer[keep], day[keep], amount[keep]


def extra_columns(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "kind": np.where(rng.random(n) < 0.1, "organization", "person").astype(object),
        "risk_grade": rng.choice(np.array(["", "A", "B", "C", "D", "E"], dtype=object), n),
        "marketing_consent": rng.random(n) < 0.6,
        "online_orders": rng.poisson(1.0, n).astype(np.float64),
        "store_orders": rng.poisson(1.0, n).astype(np.float64),
        "previous_stage": np.full(n, "", dtype=object),
        "csat": np.where(rng.random(n) < 0.1, rng.integers(1, 6, n), np.nan),
        "sentiment": np.where(rng.random(n) < 0.1, rng.uniform(-1, 1, n), np.nan),
        **{k: np.full(n, "", dtype=object) for k in ("province", "city", "industry", "job_title")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="20,000 customers, one run")
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.customers or (20_000 if args.smoke else 1_000_000)
    runs = 1 if args.smoke else max(1, args.repeat)
    rules = load_rules()
    customer, day, amount = orders(n, seed=18)
    ids = np.arange(n, dtype=np.int64)
    extra = extra_columns(n, np.random.default_rng(7))

    started = time.perf_counter()
    sample = min(n, 50_000)
    cal = summarize(
        customer[customer < sample],
        day[customer < sample],
        amount[customer < sample],
        as_of=HORIZON_DAYS,
        customers=ids[:sample],
    )
    buyers = cal.occasions > 0
    bg = fit_bgnbd(cal.repeats[buyers], cal.t_x[buyers], cal.age[buyers])
    gg = fit_gamma_gamma(cal.repeats[buyers], cal.repeat_value[buyers])
    fit_s = time.perf_counter() - started
    print(
        f"bgnbd r={bg.r:.3f} alpha={bg.alpha:.3f} a={bg.a:.3f} b={bg.b:.3f} "
        f"gamma_gamma p={gg.p:.2f} q={gg.q:.2f} gamma={gg.gamma:.2f}"
    )

    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        full = summarize(customer, day, amount, as_of=HORIZON_DAYS, customers=ids)
        window = summarize(
            customer, day, amount, as_of=HORIZON_DAYS, customers=ids, window_days=rules.window_days
        )
        recency = np.where(full.occasions > 0, full.recency_days, np.nan)
        model = Model(version=1, bgnbd=bg, spend=gg, cuts={"rfm": rfm_cuts(window, recency)})
        scored = score(full, window, model, rules, extra)
        timings.append(time.perf_counter() - started)
    score_s = sorted(timings)[len(timings) // 2]
    cuts = population_cuts(scored.columns, rules)
    tiers, tier_counts = np.unique(scored.tier.astype(str), return_counts=True)
    stages, stage_counts = np.unique(scored.stage.astype(str), return_counts=True)
    print("cuts " + " ".join(f"{k}={v:.1f}" for k, v in cuts.items()))
    print("tiers " + " ".join(f"{t}={c}" for t, c in zip(tiers, tier_counts, strict=True)))
    print("stages " + " ".join(f"{s}={c}" for s, c in zip(stages, stage_counts, strict=True)))
    print(f"score_s_runs={','.join(f'{t:.2f}' for t in timings)}")
    print(
        f"customers={n} orders={customer.size} fit_s={fit_s:.2f} score_s={score_s:.2f} "
        f"score_customers_per_s={n / score_s:.0f} target_s=30 "
        f"within_target={'yes' if score_s <= 30 else 'no'}"
    )


if __name__ == "__main__":
    main()
