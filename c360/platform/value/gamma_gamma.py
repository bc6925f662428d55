"""Gamma-Gamma: what a customer spends per purchase (Fader & Hardie 2013, "The
Gamma-Gamma model of monetary value"; Colombo & Jiang 1999).

Each transaction value is Gamma(p, ν) with ν ~ Gamma(q, γ) across customers. From a
repeat customer's number of purchases ``x`` and their mean value ``m`` the three
parameters are fitted by maximum likelihood of the mean's density (equation 3 of
the note), and a customer's expected value per purchase is the posterior mean

    E[M | p, q, γ, m, x] = (p (γ + m x)) / (p x + q − 1),

a weighted mean of the population mean p γ / (q − 1) and the customer's own mean.
Customers with no repeat purchase are not used in the fit (their one order
carries no information on variation) and get the population mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import gammaln

from c360.platform.value.max_likelihood import Array, maximize, parameters_of

__all__ = ["GammaGamma", "fit_gamma_gamma"]


@dataclass(frozen=True, slots=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters and the log-likelihood of the fit."""

    p: float
    q: float
    gamma: float
    ll: float = float("nan")
    customers: int = 0

    def as_dict(self) -> dict[str, float]:
        return parameters_of(self)

    @property
    def population_mean(self) -> float:
        """E[M] of a customer with no history (∞ if q ≤ 1)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    def expected_value(self, x: ArrayLike, m: ArrayLike) -> Array:
        """Expected value per purchase of each customer (population mean where x = 0)."""
        xs = np.asarray(x, dtype=np.float64)
        ms = np.nan_to_num(np.asarray(m, dtype=np.float64))
        return (self.p * (self.gamma + ms * xs)) / (self.p * xs + self.q - 1)


def _customer_ll(params: Array, x: Array, m: Array) -> Array:
    p, q, g = params
    px = p * x
    return np.asarray(
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + m * x)
    )


def fit_gamma_gamma(x: ArrayLike, m: ArrayLike) -> GammaGamma:
    """Maximum-likelihood Gamma-Gamma parameters from repeat customers' purchase
    counts ``x`` (> 0) and mean purchase values ``m`` (> 0); other rows are ignored."""
    xs = np.asarray(x, dtype=np.float64)
    ms = np.asarray(m, dtype=np.float64)
    if xs.shape != ms.shape:
        raise ValueError("x and m must have one length")
    keep = (xs > 0) & (ms > 0) & np.isfinite(ms)
    if keep.sum() < 3:
        raise ValueError("the Gamma-Gamma fit needs at least 3 repeat customers with a spend")
    xs, ms = xs[keep], ms[keep]

    def objective(log_params: Array) -> float:
        return float(-_customer_ll(np.exp(log_params), xs, ms).sum())

    (p, q, g), ll = maximize(objective, np.array([1.0, 1.0, max(float(ms.mean()), 1e-3)]))
    return GammaGamma(p=p, q=q, gamma=g, ll=ll, customers=int(xs.size))
