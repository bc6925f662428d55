"""RFM: recency, frequency and monetary value per customer from their orders, and
their quintile scores.

Everything works on numpy arrays so that one code path serves one customer (the
refresher after a new order), a whole base (``c360 value refresh``) and the
CDNOW benchmark. Orders on the same day count as one purchase occasion (their
amounts summed), as in the BG/NBD literature: two lines of one basket are not
two visits. Times are in days; the CLV models use weeks (:data:`DAYS_PER_UNIT`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["DAYS_PER_UNIT", "History", "quintiles", "summarize"]

DAYS_PER_UNIT = 7.0
"""The CLV models' time unit, in days (weeks, as in the papers)."""

Array = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class History:
    """Per-customer purchase history, one row per customer of ``customers``.

    ``first`` / ``last`` are day numbers of the first and last purchase occasion
    (NaN without one); ``occasions`` distinct purchase days; ``repeats`` =
    occasions − 1 (the BG/NBD ``x``); ``monetary`` the total spent in the window;
    ``repeat_value`` the mean value of the repeat occasions (the Gamma-Gamma
    ``m``; NaN without a repeat); ``recent_occasions`` / ``earlier_occasions`` the
    occasions in the last half of the window and the half before it (a rising
    frequency shows as more recent than earlier)."""

    customers: NDArray[np.int64]
    first: Array
    last: Array
    occasions: Array
    repeats: Array
    monetary: Array
    repeat_value: Array
    recent_occasions: Array
    earlier_occasions: Array
    as_of: float

    @property
    def recency_days(self) -> Array:
        """Days since the last purchase (NaN without one)."""
        return self.as_of - self.last

    @property
    def t_x(self) -> Array:
        """BG/NBD recency: time of the last purchase since the first, in weeks."""
        return np.nan_to_num(self.last - self.first) / DAYS_PER_UNIT

    @property
    def age(self) -> Array:
        """BG/NBD ``T``: time since the first purchase, in weeks."""
        return np.nan_to_num(self.as_of - self.first) / DAYS_PER_UNIT

    @property
    def typical_interval_days(self) -> Array:
        """The customer's own mean gap between purchase occasions (NaN with < 2)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.repeats > 0, (self.last - self.first) / self.repeats, np.nan)


def _by_customer_and_day(cust: NDArray[np.int64], days: Array) -> NDArray[np.intp]:
    if not cust.size:
        return np.zeros(0, dtype=np.intp)
    low, high = float(days.min()), float(days.max())
    span = int(high - low) + 1
    c_low, c_high = int(cust.min()), int(cust.max())
    if (c_high - c_low + 1) * span < 2**62:
        key = (cust - c_low) * span + (days - low).astype(np.int64)
        return np.argsort(key, kind="stable")
    return np.lexsort((days, cust))


def summarize(
    customer: ArrayLike,
    day: ArrayLike,
    amount: ArrayLike,
    *,
    as_of: float,
    window_days: float | None = None,
    customers: ArrayLike | None = None,
) -> History:
    """The :class:`History` of every customer in ``customers`` (default: those with
    orders) from order rows (customer id, day number, amount), counting orders on
    or before ``as_of`` and, with ``window_days``, after ``as_of − window_days``."""
    cust = np.asarray(customer, dtype=np.int64)
    days = np.floor(np.asarray(day, dtype=np.float64))
    amounts = np.nan_to_num(np.asarray(amount, dtype=np.float64))
    keep = days <= as_of
    if window_days is not None:
        keep &= days > as_of - window_days
    cust, days, amounts = cust[keep], days[keep], amounts[keep]
    ids = np.unique(cust) if customers is None else np.asarray(customers, dtype=np.int64)
    n = ids.size
    # one row per (customer, day): the purchase occasions. Days are whole, so
    # (customer, day) is one int64 key and one sort (a lexsort is 2-3x slower)
    order = _by_customer_and_day(cust, days)
    cust, days, amounts = cust[order], days[order], amounts[order]
    new_occasion = np.ones(cust.size, dtype=bool)
    new_occasion[1:] = (cust[1:] != cust[:-1]) | (days[1:] != days[:-1])
    starts = np.flatnonzero(new_occasion)
    occ_cust = cust[starts]
    occ_day = days[starts]
    occ_amount = np.add.reduceat(amounts, starts) if starts.size else np.zeros(0)
    position = np.searchsorted(ids, occ_cust)
    known = (
        (position < n) & (ids[np.minimum(position, max(n - 1, 0))] == occ_cust)
        if n
        else np.zeros(0, bool)
    )
    position, occ_day, occ_amount = position[known], occ_day[known], occ_amount[known]

    occasions = np.bincount(position, minlength=n).astype(np.float64)
    monetary = np.bincount(position, weights=occ_amount, minlength=n).astype(np.float64)
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    # occasions are sorted by (customer, day): the first and last of each run
    if position.size:
        head = np.ones(position.size, dtype=bool)
        head[1:] = position[1:] != position[:-1]
        tail = np.ones(position.size, dtype=bool)
        tail[:-1] = position[1:] != position[:-1]
        first[position[head]] = occ_day[head]
        last[position[tail]] = occ_day[tail]
        first_amount = np.zeros(n)
        first_amount[position[head]] = occ_amount[head]
    else:
        first_amount = np.zeros(n)
    repeats = np.maximum(occasions - 1, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        repeat_value = np.where(repeats > 0, (monetary - first_amount) / repeats, np.nan)
    half = (window_days if window_days is not None else 365.0) / 2
    recent = np.bincount(
        position, weights=(occ_day > as_of - half).astype(float), minlength=n
    ).astype(np.float64)
    earlier = np.bincount(
        position,
        weights=((occ_day <= as_of - half) & (occ_day > as_of - 2 * half)).astype(float),
        minlength=n,
    ).astype(np.float64)
    return History(
        customers=ids,
        first=first,
        last=last,
        occasions=occasions,
        repeats=repeats,
        monetary=monetary,
        repeat_value=repeat_value,
        recent_occasions=recent,
        earlier_occasions=earlier,
        as_of=float(as_of),
    )


def _average_ranks(values: Array) -> Array:
    """1-based ranks, ties sharing their mean rank (``scipy.stats.rankdata``'s
    "average", without importing scipy.stats, which costs every command a second)."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return np.asarray(((ends - counts + 1 + ends) / 2.0)[inverse.reshape(-1)], dtype=np.float64)


def quintiles(values: ArrayLike, *, higher_is_better: bool = True) -> NDArray[np.int64]:
    """Scores 1–5 by rank among the given values (ties share a score; NaN → 0).
    Recency is scored with ``higher_is_better=False`` (recent buyers score 5)."""
    v = np.asarray(values, dtype=np.float64)
    scores = np.zeros(v.size, dtype=np.int64)
    ok = np.isfinite(v)
    if ok.any():
        ranks = _average_ranks(v[ok] if higher_is_better else -v[ok])
        scores[ok] = np.clip(np.ceil(5 * ranks / ok.sum()), 1, 5).astype(np.int64)
    return scores
