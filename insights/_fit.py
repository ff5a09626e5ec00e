"""Shared maximum-likelihood machinery: log-parameterised minimisation with an L2 penalizer."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
from scipy import optimize

from core.errors import NotFittedError


class StoredParams:
    """JSON storage and repr shared by the fitted value models (no pickle).

    Subclasses set ``kind``, ``param_names`` and, once fitted, ``params_`` (plus optionally
    ``log_likelihood_`` and ``n_customers_``); ``__init__`` stores ``penalizer``.
    """

    kind: ClassVar[str] = ""
    param_names: ClassVar[tuple[str, ...]] = ()
    penalizer: float
    params_: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able parameters and fit statistics."""
        if not hasattr(self, "params_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")
        return {
            "model": self.kind,
            "params": dict(self.params_),
            "penalizer": self.penalizer,
            "log_likelihood": getattr(self, "log_likelihood_", None),
            "n_customers": getattr(self, "n_customers_", None),
        }

    def _restore(self, data: dict[str, Any]) -> Self:
        """Set the fitted attributes from :meth:`to_dict` output."""
        self.params_ = {k: float(data["params"][k]) for k in self.param_names}
        if data.get("log_likelihood") is not None:
            self.log_likelihood_ = float(data["log_likelihood"])
        if data.get("n_customers") is not None:
            self.n_customers_ = int(data["n_customers"])
        return self

    def __repr__(self) -> str:
        if hasattr(self, "params_"):
            inner = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
            return f"{type(self).__name__}({inner})"
        return f"{type(self).__name__}(penalizer={self.penalizer})"


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
