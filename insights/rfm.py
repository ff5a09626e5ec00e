"""RFM scores 1-5 with tie-aware equal-frequency bins.

Plain quintiles break down on purchase data: most customers buy once, so 60% of them share one
frequency and ``pd.qcut``-style ranking either fails or puts identical customers in different
scores. Here a tie group (customers with the same value) is never split, and bins are filled from
the worst value upwards, each aiming at an equal share of the customers *still to place*:

* a tie group larger than its share takes a score on its own (all one-time buyers get F = 1) and the
  remaining customers are spread over the remaining scores, so the scores above stay meaningful;
* a group joins the current bin while at least half of it fits under the bin's target;
* when fewer than five bins are used (few distinct values), their scores are spread evenly over
  1..5 (two groups get 1 and 5); a single group (everyone equal) gets the neutral 3.

Directions: **R** is days since the last purchase, *inverted* (most recent = 5); **F** is the number
of purchase days; **M** is the mean value of a purchase day (not total spend, which would mostly
repeat F). The fitted lower edges are kept so that one customer can be scored later without the
population (:meth:`RFMScorer.score`).

Examples
--------
>>> import numpy as np
>>> f = np.array([1, 1, 1, 1, 1, 1, 2, 2, 3, 7])
>>> tie_aware_scores(f).tolist()
[1, 1, 1, 1, 1, 1, 2, 2, 4, 5]
"""

from __future__ import annotations

from typing import Any

import numpy as np

N_SCORES = 5


def _edges(values: np.ndarray, n_scores: int = N_SCORES) -> tuple[np.ndarray, np.ndarray]:
    """Lower edge value and score of each bin (ascending values, higher value = higher score)."""
    uniq, counts = np.unique(values, return_counts=True)
    if uniq.size == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    bins: list[int] = []  # index into uniq where each bin starts
    i, remaining = 0, int(counts.sum())
    for b in range(n_scores):
        if i >= uniq.size:
            break
        bins.append(i)
        if b == n_scores - 1:
            break
        target = remaining / (n_scores - b)
        size = int(counts[i])
        i += 1
        while i < uniq.size and size + counts[i] / 2.0 <= target:
            size += int(counts[i])
            i += 1
        remaining -= size
    used = len(bins)
    if used == 1:
        scores = np.array([(n_scores + 1) // 2])
    else:
        scores = 1 + np.rint(np.arange(used) * (n_scores - 1) / (used - 1)).astype(np.int64)
    return uniq[np.array(bins)].astype(np.float64), scores


def _apply(values: np.ndarray, lower: np.ndarray, scores: np.ndarray) -> np.ndarray:
    if lower.size == 0:
        return np.full(values.shape, (N_SCORES + 1) // 2, dtype=np.int64)
    pos = np.searchsorted(lower, values, side="right") - 1
    return np.asarray(scores[np.clip(pos, 0, None)], dtype=np.int64)


def tie_aware_scores(values: Any, n_scores: int = N_SCORES) -> np.ndarray:
    """Scores 1..n_scores (higher value, higher score) with ties kept together."""
    v = np.asarray(values, dtype=np.float64)
    lower, scores = _edges(v, n_scores)
    return _apply(v, lower, scores)


class RFMScorer:
    """Fit the R, F and M bin edges on a population, then score any customer.

    Attributes
    ----------
    edges_ : dict
        ``{"r"|"f"|"m": {"lower": [...], "scores": [...]}}``; R's edges are on minus the days since
        the last purchase, so that "higher is better" holds for all three.

    Examples
    --------
    >>> s = RFMScorer().fit(days_since_last=[1, 5, 30, 200], purchases=[3, 1, 1, 1],
    ...                     order_value=[10, 20, 30, 40])
    >>> s.score(days_since_last=[1], purchases=[3], order_value=[40])
    {'r': [5], 'f': [5], 'm': [5]}
    """

    def fit(self, days_since_last: Any, purchases: Any, order_value: Any) -> RFMScorer:
        cols = self._columns(days_since_last, purchases, order_value)
        self.edges_: dict[str, dict[str, list[float] | list[int]]] = {}
        for name, v in cols.items():
            lower, scores = _edges(v)
            self.edges_[name] = {"lower": lower.tolist(), "scores": scores.tolist()}
        return self

    @staticmethod
    def _columns(days_since_last: Any, purchases: Any, order_value: Any) -> dict[str, np.ndarray]:
        return {
            "r": -np.asarray(days_since_last, dtype=np.float64),
            "f": np.asarray(purchases, dtype=np.float64),
            "m": np.asarray(order_value, dtype=np.float64),
        }

    def transform(self, days_since_last: Any, purchases: Any, order_value: Any) -> np.ndarray:
        """An ``(n, 3)`` int array of R, F, M scores."""
        if not hasattr(self, "edges_"):
            raise RuntimeError("RFMScorer is not fitted; call fit() first")
        cols = self._columns(days_since_last, purchases, order_value)
        out = [
            _apply(v, np.asarray(self.edges_[k]["lower"]), np.asarray(self.edges_[k]["scores"]))
            for k, v in cols.items()
        ]
        return np.stack(out, axis=1)

    def score(self, days_since_last: Any, purchases: Any, order_value: Any) -> dict[str, list[int]]:
        """The scores as ``{"r": [...], "f": [...], "m": [...]}``."""
        s = self.transform(days_since_last, purchases, order_value)
        return {"r": s[:, 0].tolist(), "f": s[:, 1].tolist(), "m": s[:, 2].tolist()}

    def to_dict(self) -> dict[str, Any]:
        return {"edges": self.edges_}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RFMScorer:
        obj = cls()
        obj.edges_ = {k: dict(v) for k, v in data["edges"].items()}
        return obj
