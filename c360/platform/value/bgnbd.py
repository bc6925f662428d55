"""BG/NBD: how many purchases a customer will make, and whether they are still
a customer (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

A customer buys at a Poisson rate λ ~ Gamma(r, α) while alive; after each purchase
they drop out with probability p ~ Beta(a, b). From each customer's repeat
frequency ``x``, recency ``t_x`` (time of the last purchase since the first) and
age ``T`` (time since the first purchase), all in one time unit, the four
parameters are fitted by maximum likelihood (equation 6 of the paper) and give,
per customer, P(alive) (their eq. 13 in the technical note) and the expected
number of purchases in the next ``t`` units (eq. 10).

Everything here is vectorized over numpy arrays: scoring a million customers is
a few array operations. The implementation is small on purpose: ``lifetimes`` and
``btyd`` are archived and ``pymc-marketing`` is heavy; ``bench/clv.py`` checks it
against the published CDNOW estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln, hyp2f1

from c360.platform.value.max_likelihood import Array, maximize, parameters_of

__all__ = ["BgNbd", "fit_bgnbd", "log_likelihood"]


@dataclass(frozen=True, slots=True)
class BgNbd:
    """Fitted BG/NBD parameters and the total log-likelihood of the fit."""

    r: float
    alpha: float
    a: float
    b: float
    ll: float = float("nan")
    customers: int = 0

    def as_dict(self) -> dict[str, float]:
        return parameters_of(self)

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
        """P(the customer is still active at ``T``); 1 for customers with no repeat."""
        x, t_x, T = _arrays(x, t_x, T)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(
                x > 0,
                a / (b + x - 1) * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))),
                0.0,
            )
        return 1.0 / (1.0 + ratio)

    def expected_purchases(self, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
        """E[purchases in (T, T + t] | x, t_x, T] (equation 10 of the paper)."""
        x, t_x, T = _arrays(x, t_x, T)
        t = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        decay = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        body = 1.0 - decay * hyp2f1(r + x, b + x, a + b + x - 1, z)
        return head * body * self.p_alive(x, t_x, T)

    def expected_purchases_new(self, t: ArrayLike) -> Array:
        """E[X(t)]: repeat purchases in ``t`` units of a customer just acquired
        (equation 9), for tracking a cohort's cumulative purchases."""
        t = np.asarray(t, dtype=np.float64)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))

    def median_wait(self, x: ArrayLike, T: ArrayLike) -> Array:
        """Time from ``T`` by which a customer who is still active has even odds of
        having bought again: the posterior rate is Gamma(r + x, α + T), so
        P(no purchase in w) = ((α+T)/(α+T+w))^(r+x) and the median solves it = ½."""
        x, T = np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64)
        return (self.alpha + T) * (np.power(2.0, 1.0 / (self.r + x)) - 1.0)


def _arrays(*values: ArrayLike) -> tuple[Array, ...]:
    return tuple(np.asarray(v, dtype=np.float64) for v in values)


def _customer_ll(params: Array, x: Array, t_x: Array, T: Array) -> Array:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return np.asarray(a1 + a2 + np.logaddexp(a3, a4))


def log_likelihood(
    params: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike, weights: ArrayLike | None = None
) -> float:
    """The BG/NBD log-likelihood of (r, α, a, b) for these customers."""
    xs, txs, Ts = _arrays(x, t_x, T)
    ll = _customer_ll(np.asarray(params, dtype=np.float64), xs, txs, Ts)
    if weights is not None:
        ll = ll * np.asarray(weights, dtype=np.float64)
    return float(ll.sum())


def fit_bgnbd(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters. Customers sharing (x, t_x, T) are
    counted once with a weight, so a large base fits as fast as its distinct
    histories. Raises ``ValueError`` on inconsistent input."""
    xs, txs, Ts = _arrays(x, t_x, T)
    if not (xs.shape == txs.shape == Ts.shape) or xs.size == 0:
        raise ValueError("x, t_x and T must be non-empty arrays of one length")
    if (xs < 0).any() or (txs < 0).any() or (Ts < txs).any():
        raise ValueError("need x >= 0 and 0 <= t_x <= T for every customer")
    rows, weights = np.unique(np.stack([xs, txs, Ts], axis=1), axis=0, return_counts=True)
    ux, utx, uT = rows[:, 0], rows[:, 1], rows[:, 2]
    w = weights.astype(np.float64)

    def objective(log_params: Array) -> float:
        ll = _customer_ll(np.exp(log_params), ux, utx, uT)
        return float(-(ll * w).sum())

    (r, alpha, a, b), ll = maximize(
        objective, np.array([1.0, max(float(Ts.mean()), 1e-3), 1.0, 1.0])
    )
    return BgNbd(r=r, alpha=alpha, a=a, b=b, ll=ll, customers=int(xs.size))
