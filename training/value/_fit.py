"""Shared maximum-likelihood machinery: log-parameterised minimisation with an L2 penalizer."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize


class NotFittedError(RuntimeError):
    """Raised when a model is used before ``fit`` (or ``from_dict``)."""


def fit_log_params(
    neg_mean_ll: Callable[[np.ndarray], float],
    n_params: int,
    penalizer: float,
    *,
    x0: np.ndarray | None = None,
    name: str = "model",
) -> np.ndarray:
    """Minimise ``-mean log-likelihood + penalizer * sum(params**2)`` over positive parameters.

    The search runs on log-parameters (so positivity needs no bounds) with L-BFGS-B, then a
    Nelder-Mead polish from its optimum, which makes the estimate stable to the third significant
    digit the published figures are quoted with. The penalty is on the natural parameters, as in
    ``lifetimes``, so penalizer values carry over.
    """

    def objective(log_p: np.ndarray) -> float:
        p = np.exp(log_p)
        value = neg_mean_ll(p) + penalizer * float(np.sum(p * p))
        return value if np.isfinite(value) else 1e100

    start = np.zeros(n_params) if x0 is None else np.log(np.asarray(x0, dtype=float))
    first = optimize.minimize(
        objective, start, method="L-BFGS-B", options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9}
    )
    polish = optimize.minimize(
        objective,
        first.x,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 20000, "maxfev": 20000},
    )
    best = polish if polish.fun <= first.fun else first
    if not (first.success or polish.success):
        warnings.warn(
            f"{name}: the likelihood maximisation did not converge ({polish.message}); "
            "consider a penalizer > 0 or more customers",
            RuntimeWarning,
            stacklevel=3,
        )
    return np.exp(best.x)


def as_float_arrays(*arrays: Any) -> list[np.ndarray]:
    """Broadcast the inputs to float64 arrays of one shape."""
    return [np.asarray(a, dtype=np.float64) for a in np.broadcast_arrays(*arrays)]
