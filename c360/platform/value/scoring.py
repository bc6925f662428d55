"""Scoring a batch of customers: RFM scores, CLV, tier, stage and tags from their
purchase histories, the CLV model in force and the rules — pure numpy, no
database, so the refresher (a few customers after an order), ``c360 value
refresh`` (everyone) and ``bench/value.py`` (a million) run the same code.

CLV: the BG/NBD expected purchases in each step of the horizon (a quarter by
default) times the Gamma-Gamma expected value per purchase, each step discounted
at the annual rate from its end (``rules.clv``: ``horizon_months``,
``discount_step_months``, ``annual_discount_rate``). Without a fitted model (too
few repeat buyers yet) the model quantities are NaN and the rules that need them
do not fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from c360.platform.value.bgnbd import BgNbd
from c360.platform.value.gamma_gamma import GammaGamma
from c360.platform.value.rfm import DAYS_PER_UNIT, History
from c360.platform.value.rules import Rules, evaluate, first_match

__all__ = ["Model", "Scores", "population_cuts", "rfm_cuts", "score", "score_by_cuts"]

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Model:
    """The CLV model in force: its version, the two fits (either may be missing)
    and the population cut points (RFM quintiles and the rules' cuts)."""

    version: int | None
    bgnbd: BgNbd | None
    spend: GammaGamma | None
    cuts: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Scores:
    """One element per customer of the batch, in the history's order."""

    columns: dict[str, NDArray[Any]]
    tier: NDArray[Any]
    tier_rule: NDArray[np.int64]
    stage: NDArray[Any]
    stage_rule: NDArray[np.int64]
    tag_matrix: NDArray[np.bool_]
    """customers × tag rules: where each tag rule holds"""
    tag_names: tuple[str, ...]

    def tags_of(self, i: int) -> list[str]:
        """The tags of the ``i``-th customer, in rule order."""
        return [self.tag_names[j] for j in np.flatnonzero(self.tag_matrix[i])]


def score_by_cuts(
    values: Array, cuts: list[float] | None, *, higher_is_better: bool = True
) -> NDArray[np.int64]:
    """1–5 by the four quintile cut points (0 where the value is missing)."""
    out = np.zeros(values.size, dtype=np.int64)
    ok = np.isfinite(values)
    if not cuts or not ok.any():
        return out
    edges = np.asarray(cuts, dtype=np.float64)
    rank = np.searchsorted(edges, values[ok], side="right") + 1  # 1..5, higher value higher
    out[ok] = rank if higher_is_better else 6 - rank
    return out


def rfm_cuts(window: History, recency_days: Array) -> dict[str, list[float]]:
    """Quintile cut points of recency, frequency and monetary among buyers."""
    buyers = window.occasions > 0
    q = [0.2, 0.4, 0.6, 0.8]

    def cut(v: Array) -> list[float]:
        v = v[np.isfinite(v)]
        return [float(x) for x in np.quantile(v, q)] if v.size else []

    return {
        "recency": cut(recency_days[np.isfinite(recency_days)]),
        "frequency": cut(window.occasions[buyers]),
        "monetary": cut(window.monetary[buyers]),
    }


def population_cuts(columns: Mapping[str, Array], rules: Rules) -> dict[str, float]:
    """The rules' cut points (``clv_p80`` …) over the buyers of this population."""
    buyers = columns["occasions"] > 0
    out: dict[str, float] = {}
    for name, (field, quantile) in rules.cuts.items():
        v = np.asarray(columns[field], dtype=np.float64)[buyers]
        v = v[np.isfinite(v)]
        out[name] = float(np.quantile(v, quantile)) if v.size else float("nan")
    return out


def _same_history(
    x: Array, t_x: Array, T: Array, first: Array, last: Array
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(one row per distinct history, each customer's row among them). Purchase
    days are whole days and the histories share one as-of time, so (x, first day,
    last day) is one int64 key: a 1-d sort, several times faster than sorting the
    rows of (x, t_x, T)."""
    known = np.concatenate([first[np.isfinite(first)], last[np.isfinite(last)]])
    low = float(known.min()) - 1 if known.size else 0.0
    f = np.nan_to_num(first - low, nan=0.0)  # purchase days from 1 on; 0: none
    l_ = np.nan_to_num(last - low, nan=0.0)
    whole = np.array_equal(f, np.floor(f)) and np.array_equal(l_, np.floor(l_))
    if x.size and whole:
        span = int(max(float(f.max()), float(l_.max()))) + 1
        if (float(x.max()) + 1) * span * span < 2**62:
            key = (x.astype(np.int64) * span + f.astype(np.int64)) * span + l_.astype(np.int64)
            _, index, inverse = np.unique(key, return_index=True, return_inverse=True)
            return index, inverse.reshape(-1)
    _, index, inverse = np.unique(
        np.stack([x, t_x, T], axis=1), axis=0, return_index=True, return_inverse=True
    )
    return index, inverse.reshape(-1)


def _clv(
    model: Model,
    rules: Rules,
    x: Array,
    t_x: Array,
    T: Array,
    m: Array,
    first: Array,
    last: Array,
) -> dict[str, Array]:
    n = x.size
    nan = np.full(n, np.nan)
    if model.bgnbd is None:
        return {
            "p_alive": nan,
            "expected_purchases_90d": nan,
            "next_purchase_days": nan,
            "expected_order_value": nan,
            "clv_12m": nan,
        }
    bg = model.bgnbd
    # customers sharing (x, t_x, T) share every BG/NBD quantity: compute each once
    index, inverse = _same_history(x, t_x, T, first, last)
    ux, utx, uT = x[index], t_x[index], T[index]
    p_alive = bg.p_alive(ux, utx, uT)[inverse]
    months = int(rules.clv.get("horizon_months", 12))
    step = max(1, int(rules.clv.get("discount_step_months", 3)))
    rate = float(rules.clv.get("annual_discount_rate", 0.1))
    month_units = 365.25 / 12 / DAYS_PER_UNIT
    previous = np.zeros(ux.size)
    discounted = np.zeros(ux.size)
    # expected purchases per step of the horizon, each step discounted at its end
    for k in range(step, months + step, step):
        k = min(k, months)
        cumulative = bg.expected_purchases(k * month_units, ux, utx, uT)
        discounted += (cumulative - previous) / (1 + rate) ** (k / 12)
        previous = cumulative
        if k == months:
            break
    discounted = discounted[inverse]
    value = model.spend.expected_value(x, m) if model.spend is not None else nan
    return {
        "p_alive": p_alive,
        "expected_purchases_90d": bg.expected_purchases(90 / DAYS_PER_UNIT, ux, utx, uT)[inverse],
        "next_purchase_days": bg.median_wait(x, T) * DAYS_PER_UNIT,
        "expected_order_value": value,
        "clv_12m": discounted * value,
    }


def score(
    full: History,
    window: History,
    model: Model,
    rules: Rules,
    extra: Mapping[str, NDArray[Any]],
    *,
    cuts: Mapping[str, float] | None = None,
) -> Scores:
    """Score the customers of ``full`` (all their orders) and ``window`` (the RFM
    window's orders; same customers, same order). ``extra`` holds the other
    columns the rules use (``previous_stage``, ``kind``, ``risk_grade``,
    ``marketing_consent``, ``online_orders``, ``store_orders``, ``csat``,
    ``sentiment``); ``cuts`` default to the model's, else to this population's."""
    n = full.customers.size
    x, t_x, T = full.repeats, full.t_x, full.age
    buyers = full.occasions > 0
    recency = np.where(buyers, full.recency_days, np.nan)
    tenure = np.where(buyers, full.as_of - full.first, np.nan)
    columns: dict[str, NDArray[Any]] = {
        "occasions": full.occasions,
        "repeats": x,
        "recency_days": recency,
        "tenure_days": tenure,
        "typical_interval_days": full.typical_interval_days,
        "frequency": window.occasions,
        "monetary": window.monetary,
        "recent_occasions": full.recent_occasions,
        "earlier_occasions": full.earlier_occasions,
        "repeat_rate": np.where(buyers, x / np.maximum(full.occasions, 1), np.nan),
        # BG/NBD describes customers from their first purchase on: none before it
        **{
            name: np.where(buyers, values, np.nan)
            for name, values in _clv(
                model, rules, x, t_x, T, full.repeat_value, full.first, full.last
            ).items()
        },
    }
    for name, values in extra.items():
        columns[name] = np.asarray(values)
    rfm = model.cuts.get("rfm") or rfm_cuts(window, recency)
    columns["r_score"] = score_by_cuts(recency, rfm.get("recency"), higher_is_better=False)
    columns["f_score"] = np.where(
        window.occasions > 0, score_by_cuts(window.occasions, rfm.get("frequency")), 0
    )
    columns["m_score"] = np.where(
        window.occasions > 0, score_by_cuts(window.monetary, rfm.get("monetary")), 0
    )
    if cuts is None:
        stored = model.cuts.get("rules")
        cuts = stored if stored else population_cuts(columns, rules)
    tier, tier_rule = first_match(rules.tiers, "tier", columns, cuts, n)
    stage, stage_rule = first_match(rules.stages, "stage", columns, cuts, n)
    tagged = [evaluate(rule["when"], columns, cuts, n) for rule in rules.tags]
    matrix = np.stack(tagged, axis=1) if tagged else np.zeros((n, 0), dtype=bool)
    names = tuple(rule["tag"] for rule in rules.tags)
    return Scores(columns, tier, tier_rule, stage, stage_rule, matrix, names)
