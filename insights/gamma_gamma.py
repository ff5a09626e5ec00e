"""Gamma-Gamma model of spend per purchase (Fader, Hardie & Lee 2005, "RFM and CLV").

Each purchase of a customer is worth Gamma(p, nu); nu varies across customers as Gamma(q, gamma).
Fitted on repeat buyers only (x > 0, mean repeat value m > 0); it assumes spend is independent of
purchase frequency (check ``np.corrcoef(frequency, monetary)`` is small before trusting it).

Examples
--------
>>> m = GammaGammaModel.from_dict({"model": "gamma_gamma",
...                                "params": {"p": 6.25, "q": 3.74, "gamma": 15.44}})
>>> round(float(m.conditional_expected_spend(0, 0)), 2)  # a one-time buyer: the population mean
35.22
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import gammaln

from core.errors import NotFittedError
from insights._fit import StoredParams, as_float_arrays, fit_log_params

PARAM_NAMES = ("p", "q", "gamma")


class GammaGammaModel(StoredParams):
    """Gamma-Gamma spend model, estimator style.

    Parameters
    ----------
    penalizer : float
        L2 penalty on (p, q, gamma) added to the mean negative log-likelihood.

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "gamma"}``.
    log_likelihood_ : float
    n_customers_ : int
        Repeat buyers the model was fitted on.
    """

    kind = "gamma_gamma"
    param_names = PARAM_NAMES

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    @staticmethod
    def _ll(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        p, q, g = params
        px = p * x
        return np.asarray(
            gammaln(px + q)
            - gammaln(px)
            - gammaln(q)
            + q * np.log(g)
            + (px - 1) * np.log(m)
            + px * np.log(x)
            - (px + q) * np.log(x * m + g)
        )

    def fit(self, frequency: Any, monetary: Any) -> GammaGammaModel:
        """Fit on the customers with ``frequency > 0`` and ``monetary > 0`` (others are skipped)."""
        x, m = as_float_arrays(frequency, monetary)
        keep = (x > 0) & (m > 0)
        x, m = x[keep], m[keep]
        if x.size < 2:
            raise ValueError("gamma_gamma: need at least two repeat buyers with positive spend")

        def neg_mean_ll(p: np.ndarray) -> float:
            return -float(self._ll(p, x, m).mean())

        # Moment-style start: the mean spend is p * gamma / (q - 1).
        start = np.array([1.0, 2.0, float(np.mean(m))])
        p = fit_log_params(neg_mean_ll, 3, self.penalizer, x0=start, name=self.kind)
        self.params_ = dict(zip(PARAM_NAMES, (float(v) for v in p), strict=True))
        self.log_likelihood_ = float(self._ll(p, x, m).sum())
        self.n_customers_ = int(x.size)
        return self

    def _p(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise NotFittedError("GammaGammaModel is not fitted; call fit() first")
        return np.array([self.params_[k] for k in PARAM_NAMES])

    def conditional_expected_spend(self, frequency: Any, monetary: Any) -> np.ndarray:
        """E[spend per purchase | x, m]: a weighted mean of the population mean and ``m``.

        Customers without repeat purchases (x = 0) get the population mean p * gamma / (q - 1).
        """
        p, q, g = self._p()
        x, m = as_float_arrays(frequency, monetary)
        m = np.where(x > 0, m, 0.0)
        return np.asarray((g + x * m) * p / (p * x + q - 1))

    def clv(
        self,
        transaction_model: Any,
        frequency: Any,
        recency: Any,
        T: Any,
        monetary: Any,
        **kwargs: Any,
    ) -> np.ndarray:
        """CLV: ``transaction_model.clv`` valued at this model's expected spend (same kwargs)."""
        spend = self.conditional_expected_spend(frequency, monetary)
        return np.asarray(transaction_model.clv(frequency, recency, T, spend, **kwargs))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GammaGammaModel:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if data.get("model", cls.kind) != cls.kind:
            raise ValueError(f"GammaGammaModel cannot load a {data.get('model')!r} model")
        return cls(penalizer=float(data.get("penalizer") or 0.0))._restore(data)
