"""Needs segments: customers grouped by what they buy (category mix, price band, frequency),
each segment labelled by what sets it apart from the whole population.

The features per customer are the share of spend in each of the top ``max_categories``
categories (the rest pooled as ``other``), the log of the mean value of an order line (price
band) and the log of purchase days per year (frequency), standardised; scikit-learn's
``MiniBatchKMeans`` groups them (mini-batches: a million customers fit in seconds). A segment's
label names its most over-represented category (its spend share at least 1.5 times the
population's), its price band and its frequency against the population's, e.g.
``"jeans-led, premium, frequent"``. Centroids and scaling are plain numbers in the run's state.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> cats = np.array(["toys"] * 50 + ["wine"] * 50, dtype=object)
>>> feats = needs_features(np.repeat(np.arange(100), 3), np.repeat(cats, 3),
...                        np.repeat(np.where(cats == "wine", 80.0, 8.0), 3), np.full(100, 3.0),
...                        np.full(100, 365.0), 100)
>>> seg = NeedsSegmenter(n_segments=2).fit(feats)
>>> sorted(seg.labels_)
['toys-led, budget, regular', 'wine-led, premium, regular']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import NotFittedError

OTHER = "other"


@dataclass(slots=True)
class NeedsFeatures:
    """The per-customer feature matrix and the names of its category columns."""

    shares: np.ndarray  #: spend share per category column (rows sum to 1, or 0 without spend)
    categories: list[str]
    log_price: np.ndarray  #: log1p of the mean value of an order line
    log_frequency: np.ndarray  #: log1p of purchase days per year

    def matrix(self) -> np.ndarray:
        return np.column_stack([self.shares, self.log_price, self.log_frequency])


def needs_features(
    customer_index: np.ndarray,
    category: np.ndarray,
    value: np.ndarray,
    purchase_days: np.ndarray,
    age_days: np.ndarray,
    n_customers: int,
    max_categories: int = 12,
) -> NeedsFeatures:
    """Features of ``n_customers`` from their order lines (``customer_index`` into 0..n-1, the
    line's ``category`` and ``value``) and their purchase days and age."""
    value = np.maximum(np.nan_to_num(np.asarray(value, dtype=np.float64), nan=0.0), 0.0)
    names, cat = np.unique(category.astype(str), return_inverse=True)
    spend = np.bincount(cat, weights=value, minlength=names.shape[0])
    top = np.argsort(-spend, kind="stable")[:max_categories]
    column = np.full(names.shape[0], top.shape[0])
    column[top] = np.arange(top.shape[0])
    width = top.shape[0] + 1
    cells = np.bincount(
        customer_index * width + column[cat], weights=value, minlength=n_customers * width
    ).reshape(n_customers, width)
    total = cells.sum(axis=1)
    shares = np.divide(cells, total[:, None], out=np.zeros_like(cells), where=total[:, None] > 0)
    lines = np.bincount(customer_index, minlength=n_customers)
    mean_line = np.divide(total, lines, out=np.zeros_like(total), where=lines > 0)
    per_year = purchase_days * 365.0 / np.maximum(age_days, 30.0)
    categories = [str(names[i]) for i in top] + [OTHER]
    keep = shares.sum(axis=0) > 0  # drop an empty "other"
    return NeedsFeatures(
        shares[:, keep].astype(np.float32),
        [c for c, k in zip(categories, keep, strict=True) if k],
        np.log1p(mean_line),
        np.log1p(per_year),
    )


class NeedsSegmenter:
    """K-means over standardised needs features, with a label per segment.

    Parameters
    ----------
    n_segments : int
        Number of segments (fewer when there are fewer customers).
    random_state : int
        Seed of the clustering, so a run is reproducible.
    """

    def __init__(self, n_segments: int = 6, random_state: int = 0) -> None:
        self.n_segments = n_segments
        self.random_state = random_state

    def fit(self, features: NeedsFeatures) -> NeedsSegmenter:
        x = features.matrix().astype(np.float64)
        self.mean_ = x.mean(axis=0)
        self.scale_ = np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
        z = (x - self.mean_) / self.scale_
        k = max(1, min(self.n_segments, x.shape[0]))
        # Imported here: scikit-learn (and the scipy.stats it loads) is a third of a worker's
        # start-up imports, and serving only assigns customers to the fitted centres.
        from sklearn.cluster import MiniBatchKMeans

        km = MiniBatchKMeans(
            n_clusters=k, random_state=self.random_state, n_init=3, batch_size=4096
        ).fit(z)
        self.centers_ = km.cluster_centers_
        self.categories_ = list(features.categories)
        assigned = self._assign(z)
        self.labels_ = _labels(features, assigned, k)
        self.ids_ = [f"n{j + 1}" for j in range(k)]
        return self

    def _assign(self, z: np.ndarray) -> np.ndarray:
        """The nearest centre of each row, 65,536 rows at a time (the distance tensor is rows
        x centres x features: a million customers at once would be a gigabyte)."""
        out = np.empty(z.shape[0], dtype=np.int64)
        for start in range(0, z.shape[0], 65536):
            part = z[start : start + 65536]
            d = ((part[:, None, :] - self.centers_[None, :, :]) ** 2).sum(axis=2)
            out[start : start + 65536] = np.argmin(d, axis=1)
        return out

    def predict(self, features: NeedsFeatures) -> np.ndarray:
        """The segment id of each customer."""
        if not hasattr(self, "centers_"):
            raise NotFittedError("NeedsSegmenter is not fitted; call fit() first")
        out = np.empty(features.shares.shape[0], dtype=object)
        for start in range(0, out.shape[0], 65536):  # chunks keep the distance matrix small
            part = slice(start, start + 65536)
            x = np.column_stack(
                [features.shares[part], features.log_price[part], features.log_frequency[part]]
            )
            out[part] = np.asarray(self.ids_, dtype=object)[
                self._assign((x - self.mean_) / self.scale_)
            ]
        return out

    def to_dict(self) -> dict[str, Any]:
        if not hasattr(self, "centers_"):
            raise NotFittedError("NeedsSegmenter is not fitted; call fit() first")
        return {
            "segments": {i: lab for i, lab in zip(self.ids_, self.labels_, strict=True)},
            "categories": self.categories_,
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "centers": self.centers_.tolist(),
        }


def _band(value: float, low: str, mid: str, high: str) -> str:
    return high if value > 0.5 else low if value < -0.5 else mid


def _labels(features: NeedsFeatures, assigned: np.ndarray, k: int) -> list[str]:
    """What sets each segment apart: its most over-represented category, price and frequency."""
    pop_share = features.shares.mean(axis=0)
    price_sd = features.log_price.std() or 1.0
    freq_sd = features.log_frequency.std() or 1.0
    labels = []
    for j in range(k):
        mine = assigned == j
        if not mine.any():
            labels.append("empty")
            continue
        share = features.shares[mine].mean(axis=0)
        lift = np.divide(share, pop_share, out=np.zeros_like(share), where=pop_share > 0)
        best = int(np.argmax(lift))
        parts = []
        if lift[best] >= 1.5 and features.categories[best] != OTHER:
            parts.append(f"{features.categories[best]}-led")
        elif len(features.categories) > 1:
            parts.append("mixed basket")
        price = (features.log_price[mine].mean() - features.log_price.mean()) / price_sd
        freq = (features.log_frequency[mine].mean() - features.log_frequency.mean()) / freq_sd
        parts.append(_band(price, "budget", "mid-price", "premium"))
        parts.append(_band(freq, "occasional", "regular", "frequent"))
        labels.append(", ".join(parts))
    return labels
