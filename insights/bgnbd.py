"""BG/NBD and MBG/NBD purchase-count models ("buy till you die"), fitted by maximum likelihood.

While alive a customer buys at a Poisson rate lambda ~ Gamma(r, alpha); after each purchase they
drop out with probability p ~ Beta(a, b) (BG/NBD, Fader, Hardie & Lee 2005). The MBG/NBD variant
(Batislam, Denizel & Filiztekin 2007) also lets them drop out right after the first purchase, so a
one-time buyer who has not come back for a long time is no longer certainly alive (under BG/NBD
P(alive) of a customer with no repeat purchase is always 1).

Inputs are per-customer arrays from :func:`insights.summary.summarize`: ``frequency`` (repeat
purchase periods x), ``recency`` (t_x) and ``T``, all in one time unit; ``t`` horizons are in the
same unit. Every prediction is vectorised over customers.

Examples
--------
>>> import numpy as np
>>> m = BetaGeoModel.from_dict({"model": "bgnbd", "params": {"r": 0.243, "alpha": 4.414,
...                             "a": 0.793, "b": 2.426}})
>>> round(float(m.expected_purchases(39, 2, 30.43, 38.86)), 2)
1.23
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from scipy.special import betaln, expit, gammaln, hyp2f1

from core.errors import NotFittedError
from insights._fit import StoredParams, as_float_arrays, fit_log_params

PARAM_NAMES = ("r", "alpha", "a", "b")


class _BuyTillYouDie(StoredParams, ABC):
    """Shared estimator plumbing: parameters, fitting, JSON round trip, CLV."""

    param_names = PARAM_NAMES

    def __init__(self, penalizer: float = 0.0) -> None:
        self.penalizer = penalizer

    # -- subclass formulas -------------------------------------------------------------------
    @abstractmethod
    def _log_likelihood(
        self, p: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Log-likelihood of each customer's (x, t_x, T) under parameters ``p``."""

    @abstractmethod
    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        """log of P(dead | history) / P(alive | history)."""

    @abstractmethod
    def _expected_if_alive(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """E[purchases in (T, T + t] | alive at T, x]."""

    # -- estimator API ------------------------------------------------------------------------
    def fit(
        self,
        frequency: np.ndarray,
        recency: np.ndarray,
        T: np.ndarray,
        weights: np.ndarray | None = None,
    ) -> _BuyTillYouDie:
        """Maximum-likelihood fit of (r, alpha, a, b); ``weights`` count identical customers."""
        x, tx, T_ = as_float_arrays(frequency, recency, T)
        if x.size == 0:
            raise ValueError(f"{self.kind}: no customers to fit")
        if np.any(tx > T_ + 1e-9) or np.any(x < 0) or np.any((x == 0) & (tx > 0)):
            raise ValueError(f"{self.kind}: need 0 <= recency <= T and recency = 0 when x = 0")
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
        total = float(w.sum())

        def neg_mean_ll(p: np.ndarray) -> float:
            return -float(np.dot(w, self._log_likelihood(p, x, tx, T_))) / total

        p = fit_log_params(neg_mean_ll, 4, self.penalizer, name=self.kind)
        self.params_ = dict(zip(PARAM_NAMES, (float(v) for v in p), strict=True))
        self.log_likelihood_ = float(np.dot(w, self._log_likelihood(p, x, tx, T_)))
        self.n_customers_ = round(total)
        return self

    def _p(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() first")
        return np.array([self.params_[k] for k in PARAM_NAMES])

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Per-customer log-likelihood under the fitted parameters."""
        x, tx, T_ = as_float_arrays(frequency, recency, T)
        return self._log_likelihood(self._p(), x, tx, T_)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(the customer is still alive at T | x, t_x, T)."""
        self._p()
        x, tx, T_ = as_float_arrays(frequency, recency, T)
        return expit(-self._log_odds_dead(x, tx, T_))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """E[number of purchases in the next ``t`` time units | x, t_x, T]."""
        self._p()
        t_, x, tx, T_ = as_float_arrays(t, frequency, recency, T)
        return self.p_alive(x, tx, T_) * self._expected_if_alive(t_, x, T_)

    def p_no_purchase(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(no purchase in the next ``t`` time units | x, t_x, T): dead, or alive and silent.

        Alive customers keep their Gamma posterior rate, Gamma(r + x, alpha + T), and cannot drop
        out without purchasing, so silence for ``t`` has probability ((alpha+T)/(alpha+T+t))^(r+x).
        """
        p = self._p()
        r, alpha = p[0], p[1]
        t_, x, tx, T_ = as_float_arrays(t, frequency, recency, T)
        alive = self.p_alive(x, tx, T_)
        silent = np.exp((r + x) * (np.log(alpha + T_) - np.log(alpha + T_ + t_)))
        return 1.0 - alive + alive * silent

    def clv(
        self,
        frequency: Any,
        recency: Any,
        T: Any,
        expected_spend: Any,
        *,
        horizon: float,
        discount_rate: float = 0.0,
        margin: float = 1.0,
        step: float = 30.0,
        time_unit_days: float = 1.0,
    ) -> np.ndarray:
        """Discounted margin of the purchases expected over ``horizon`` time units.

        The horizon is cut into steps of ``step`` units; the purchases expected in each step are
        valued at ``expected_spend`` (e.g. :meth:`GammaGammaModel.conditional_expected_spend`) and
        discounted at the *annual* ``discount_rate`` to the step's end:
        ``sum_k margin * spend * (E[Y(t_k)] - E[Y(t_k-1)]) / (1 + d) ** (t_k * days / 365)``.
        """
        x, tx, T_, spend = as_float_arrays(frequency, recency, T, expected_spend)
        if horizon <= 0:
            return np.zeros_like(x)
        grid = np.arange(step, horizon + step * 1e-9, step)
        if grid.size == 0 or grid[-1] < horizon - 1e-9:
            grid = np.append(grid, horizon)
        total = np.zeros_like(x)
        prev = np.zeros_like(x)
        for tk in grid:
            cum = self.expected_purchases(tk, x, tx, T_)
            total += (cum - prev) / (1.0 + discount_rate) ** (tk * time_unit_days / 365.0)
            prev = cum
        return margin * spend * total

    # -- storage ------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _BuyTillYouDie:
        """Rebuild a fitted model from :meth:`to_dict` output (the base class picks the kind)."""
        kind = data.get("model", cls.kind)
        target = TRANSACTION_MODELS[kind] if cls is _BuyTillYouDie else cls
        if kind != target.kind:
            raise ValueError(f"{target.__name__} cannot load a {kind!r} model")
        return target(penalizer=float(data.get("penalizer") or 0.0))._restore(data)


class BetaGeoModel(_BuyTillYouDie):
    """BG/NBD (Fader, Hardie & Lee 2005), estimator style.

    Parameters
    ----------
    penalizer : float
        L2 penalty on (r, alpha, a, b) added to the mean negative log-likelihood; 0 reproduces the
        published estimates, small values (0.001-0.1) stabilise fits on few customers.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``.
    log_likelihood_ : float
        Total log-likelihood at the optimum.
    n_customers_ : int

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> T = np.full(200, 40.0); x = rng.poisson(2, 200).astype(float)
    >>> tx = np.where(x > 0, rng.uniform(0, 40, 200), 0.0)
    >>> m = BetaGeoModel(penalizer=0.01).fit(x, tx, T)
    >>> sorted(m.params_)
    ['a', 'alpha', 'b', 'r']
    """

    kind = "bgnbd"

    def _log_likelihood(
        self, p: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        r, alpha, a, b = p
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
        a3 = -(r + x) * np.log(alpha + T)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where(
                x > 0,
                np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + tx),
                -np.inf,
            )
        return np.asarray(head + np.logaddexp(a3, a4))

    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._p()
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = (
                np.log(a)
                - np.log(np.maximum(b + x - 1, 1e-300))
                + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
            )
        return np.where(x > 0, odds, -np.inf)

    def _expected_if_alive(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._p()
        one_minus_z = (alpha + T) / (alpha + T + t)
        # Euler's transformation keeps 2F1 bounded for customers with many purchases:
        # ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)
        #   = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)
        hyp = one_minus_z ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, 1 - one_minus_z)
        return np.asarray((a + b + x - 1) / (a - 1) * (1 - hyp))


class ModifiedBetaGeoModel(_BuyTillYouDie):
    """MBG/NBD (Batislam et al. 2007): BG/NBD where dropout may also follow the first purchase.

    Same API and parameters as :class:`BetaGeoModel`; P(alive) of one-time buyers now falls with
    the time since their purchase, which makes churn figures for them meaningful.
    """

    kind = "mbgnbd"

    def _log_likelihood(
        self, p: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        r, alpha, a, b = p
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        head = head + betaln(a, b + x + 1) - betaln(a, b) - (r + x) * np.log(alpha + T)
        a4 = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        return np.asarray(head + np.logaddexp(a4, 0.0))

    def _log_odds_dead(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._p()
        return np.asarray(
            np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        )

    def _expected_if_alive(self, t: np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self._p()
        one_minus_z = (alpha + T) / (alpha + T + t)
        # (1-z)^(r+x) 2F1(r+x, b+x+1; a+b+x; z) = (1-z)^(a-1) 2F1(a+b-r, a-1; a+b+x; z)
        hyp = one_minus_z ** (a - 1) * hyp2f1(a + b - r, a - 1, a + b + x, 1 - one_minus_z)
        return np.asarray((a + b + x) / (a - 1) * (1 - hyp))


TRANSACTION_MODELS: dict[str, type[_BuyTillYouDie]] = {
    BetaGeoModel.kind: BetaGeoModel,
    ModifiedBetaGeoModel.kind: ModifiedBetaGeoModel,
}


def transaction_model_from_dict(data: dict[str, Any]) -> _BuyTillYouDie:
    """Load whichever purchase-count model ``data["model"]`` names."""
    return _BuyTillYouDie.from_dict(data)
