"""What the job learns on a validation quarter: how much to trust the purchase-count model's CLV
against the customer's recent spending rate, and a calibrated probability of being active.

On Online Retail the BG/NBD (and MBG/NBD, and Pareto/NBD) fits find no dropout (``a`` about
1e-11), so their P(alive) is 1 for everyone and their CLV ranks customers no better than past
revenue. Both are fixed the same way, without looking at the period being predicted: the job
also fits its models as of ``as_of - validation_days``, watches what happened in the validation
window that follows (up to ``as_of``), and learns there

* :class:`ValueBlend`: the weight ``w`` of ``clv = w * model CLV + (1 - w) * run-rate CLV``
  that ranks customers best (the top share's capture of the window's revenue); the run-rate
  CLV is the customer's net spend per day over the last ``runrate_days``, discounted over the
  horizon like the model's;
* :class:`ActivityModel`: a logistic regression of "buys again within the window" on the
  customer's recency, frequency, age and the model's own P(purchase in the window); its
  probability is the row's ``p_alive`` (probability of being an active customer), calibrated
  on that window by construction.

Both are plain numbers in the run's state (no pickle) and apply at ``as_of`` with the full fit.

Examples
--------
>>> import numpy as np
>>> blend = ValueBlend().fit(np.array([1., 2., 3., 4., 5.]), np.array([5., 4., 3., 2., 1.]),
...                          np.array([0., 0., 0., 1., 9.]), top=0.4)
>>> blend.weight_
1.0
>>> round(float(discount_annuity(365.0, 0.0, 30.0)), 1)
365.0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.errors import NotFittedError

#: The blend weights tried on the validation window (0 = run rate only, 1 = model only).
WEIGHTS: tuple[float, ...] = tuple(round(0.1 * k, 1) for k in range(11))


def top_capture(score: np.ndarray, future: np.ndarray, share: float = 0.2) -> float:
    """Share of ``future`` value brought by the top ``share`` of customers by ``score`` (ties
    broken by position, so the figure is reproducible)."""
    total = float(future.sum())
    if score.size == 0 or total <= 0:
        return 0.0
    k = max(1, round(share * score.size))
    order = np.lexsort((np.arange(score.size), -score))[:k]
    return float(future[order].sum() / total)


def discount_annuity(horizon_days: float, discount_rate: float, step_days: float) -> float:
    """Discounted days in the horizon: the value of spending 1 a day, with the CLV's steps."""
    grid = np.arange(step_days, horizon_days + step_days * 1e-9, step_days)
    if grid.size == 0 or grid[-1] < horizon_days - 1e-9:
        grid = np.append(grid, horizon_days)
    widths = np.diff(np.concatenate([[0.0], grid]))
    return float(np.sum(widths / (1.0 + discount_rate) ** (grid / 365.0)))


class ValueBlend:
    """The weight of the model's CLV against the run-rate CLV, chosen on a validation window.

    Parameters
    ----------
    weights : tuple of float
        The candidate weights.
    """

    def __init__(self, weights: tuple[float, ...] = WEIGHTS) -> None:
        self.weights = weights

    def fit(
        self, model_clv: np.ndarray, runrate_clv: np.ndarray, future: np.ndarray, top: float = 0.2
    ) -> ValueBlend:
        """Pick the weight whose blend's top ``top`` share captures most of ``future``; ties go
        to the larger weight (the model's)."""
        captures = [
            top_capture(w * model_clv + (1.0 - w) * runrate_clv, future, top) for w in self.weights
        ]
        best = max(range(len(captures)), key=lambda i: (round(captures[i], 12), self.weights[i]))
        self.weight_ = float(self.weights[best])
        self.captures_ = {str(w): round(c, 6) for w, c in zip(self.weights, captures, strict=True)}
        return self

    def to_dict(self) -> dict[str, Any]:
        if not hasattr(self, "weight_"):
            raise NotFittedError("ValueBlend is not fitted; call fit() first")
        return {"weight": self.weight_, "validation_captures": self.captures_}


def activity_features(
    frequency: np.ndarray,
    days_since_last: np.ndarray,
    age_days: np.ndarray,
    p_purchase: np.ndarray,
) -> np.ndarray:
    """The activity model's inputs: log frequency, recency and age, and the model's log-odds of
    a purchase in the window (clipped so certain answers stay finite)."""
    p = np.clip(p_purchase, 1e-6, 1 - 1e-6)
    return np.column_stack(
        [
            np.log1p(frequency),
            np.log1p(days_since_last),
            np.log1p(age_days),
            np.log(p) - np.log1p(-p),
        ]
    )


class ActivityModel:
    """P(the customer buys again within the window): a logistic regression, stored as numbers.

    Parameters
    ----------
    C : float
        Inverse L2 strength of scikit-learn's ``LogisticRegression``.
    """

    def __init__(self, C: float = 1.0) -> None:
        self.C = C

    def fit(self, features: np.ndarray, bought: np.ndarray) -> ActivityModel:
        """Fit on the validation window's outcomes; keeps the calibration by decile."""
        from sklearn.linear_model import LogisticRegression  # a job's import, not a worker's

        reg = LogisticRegression(C=self.C, max_iter=1000).fit(features, bought.astype(int))
        self.coef_ = [float(c) for c in reg.coef_[0]]
        self.intercept_ = float(reg.intercept_[0])
        self.calibration_ = calibration_by_decile(self.predict(features), bought)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The probability of each row of ``features``."""
        if not hasattr(self, "coef_"):
            raise NotFittedError("ActivityModel is not fitted; call fit() first")
        # Column by column (not a matrix product): a customer's probability is then the same
        # bits whether scored alone or in a batch (BLAS may sum a batch in another order).
        z = np.full(features.shape[0], self.intercept_)
        for j, c in enumerate(self.coef_):
            z = z + c * features[:, j]
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def to_dict(self) -> dict[str, Any]:
        if not hasattr(self, "coef_"):
            raise NotFittedError("ActivityModel is not fitted; call fit() first")
        return {
            "model": "logistic",
            "coef": self.coef_,
            "intercept": self.intercept_,
            "calibration": self.calibration_,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ActivityModel:
        model = cls()
        model.coef_ = [float(c) for c in data["coef"]]
        model.intercept_ = float(data["intercept"])
        model.calibration_ = list(data.get("calibration", []))
        return model


def calibration_by_decile(predicted: np.ndarray, actual: np.ndarray) -> list[dict[str, float]]:
    """Mean predicted probability and observed share, per decile of the prediction."""
    if predicted.size == 0:
        return []
    order = np.argsort(predicted, kind="stable")
    out = []
    for part in np.array_split(order, min(10, predicted.size)):
        out.append(
            {
                "predicted": round(float(predicted[part].mean()), 4),
                "actual": round(float(np.asarray(actual, dtype=float)[part].mean()), 4),
                "customers": int(part.size),
            }
        )
    return out
