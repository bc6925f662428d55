"""The maximum-likelihood search the CLV models share (BG/NBD and Gamma-Gamma):
positive parameters optimized as their logarithms, a Nelder-Mead search from a
start the model chooses, then a bounded L-BFGS-B polish."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

LOG_BOUNDS = (-12.0, 12.0)
"""Bounds of the fitted log-parameters (e^±12: far beyond any sane value)."""


def maximize(
    negative_ll: Callable[[Array], float], start: Array
) -> tuple[tuple[float, ...], float]:
    """The positive parameters that minimize ``negative_ll`` (a function of the
    log-parameters), searched from ``start`` (positive), and the log-likelihood
    there."""
    # scipy.optimize costs every `c360` process a third of a second at start;
    # only a refit needs it
    from scipy.optimize import minimize

    result = minimize(
        negative_ll,
        np.log(start),
        method="Nelder-Mead",
        options={"maxiter": 2000, "xatol": 1e-6, "fatol": 1e-8},
    )
    # polish with bounds on the log-parameters: a degenerate sample (no spread
    # between customers) drifts towards infinity instead of converging
    result = minimize(negative_ll, result.x, method="L-BFGS-B", bounds=[LOG_BOUNDS] * len(start))
    return tuple(float(v) for v in np.exp(result.x)), -float(result.fun)


def parameters_of(fit: Any) -> dict[str, float]:
    """A fitted model's dataclass fields as floats (how they are stored)."""
    return {k: float(v) for k, v in asdict(fit).items()}


__all__ = ["LOG_BOUNDS", "maximize", "parameters_of"]
