"""Per-family scoring behind one interface, chosen once when a version is loaded.

A :class:`Scorer` answers for the *served* items: the model's items first, then catalog items
the model has never seen, which score as the weighted sum of their attribute proxies' scores
(``proxies``, one row per new item). Every family answers the same four questions:

- :meth:`~Scorer.scores`: every served item's score for one history row;
- :meth:`~Scorer.similarity`: every served item's similarity to one model item;
- :meth:`~Scorer.contributions`: what each history item adds to each recommended score (the
  explanations; for every personalised family the columns sum to the scores);
- :meth:`~Scorer.top`: the exact top-``n`` allowed items of a history row, by default by
  scoring everything and masking.

Families: :class:`FactorScorer` (ALS, BPR: a row is folded into a customer vector with one
small solve against the Gram matrix cached at load, and the top-``n`` is an exact scan by
decreasing item norm that stops early), :class:`EaseScorer` (dense item-item weights),
:class:`KnnScorer` (sparse item-item similarity), :class:`PopularityScorer` (not personalised).
Everything that does not depend on the request is computed in the constructor.

Examples
--------
>>> import scipy.sparse as sp
>>> from recommender.models import EASE
>>> scorer = scorer_for(EASE(l2=1.0).fit(sp.csr_matrix([[1.0, 1, 0], [1.0, 1, 0], [0, 0, 1.0]])))
>>> mask = ItemMask([None, None, None])
>>> scorer.top(np.array([0]), np.array([1.0]), 1, mask, banned=[np.array([0])])[0].tolist()
[1]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg.lapack import dgesv as _dgesv
from scipy.linalg.lapack import dposv as _dposv

from recommender.models import EASE, FactorModel, ItemKNN, Popularity, Recommender
from recommender.selection import MAX_CACHED_FILTERS, ItemMask, clip_n, top_n

if TYPE_CHECKING:
    from recommender.foldin import IncrementalFoldIn

Banned = Sequence[np.ndarray | None]


class Scorer(ABC):
    """Scores of one loaded model over the served items (see the module docstring).

    Parameters
    ----------
    n_model_items
        Items the model was trained on (positions ``0 .. n_model_items - 1``).
    proxies
        ``(new items x n_model_items)`` weights: each catalog item the model has never seen as
        a mix of trained items (``None``: no new items).
    """

    #: False for a family that does not personalise: history rows get the popular answer.
    personalised: ClassVar[bool] = True

    def __init__(self, n_model_items: int, proxies: sp.csr_matrix | None = None) -> None:
        self.n_model_items = n_model_items
        self.proxies = proxies
        self.n_items = n_model_items + (0 if proxies is None else proxies.shape[0])

    # --- what each family implements ----------------------------------------------------
    @abstractmethod
    def model_scores(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, vector: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores of the model's items for a history row (a new float32 array); ``vector``
        is the row's customer vector when the caller has it (factor models)."""

    @abstractmethod
    def model_similarity(self, item: int) -> np.ndarray:
        """Similarity of the model's items to model item ``item`` (a new float32 array)."""

    @abstractmethod
    def contributions(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, rec_idx: np.ndarray
    ) -> np.ndarray:
        """``(len(hist) x len(rec_idx))`` contribution of each history item to the score of
        each of the model items ``rec_idx``."""

    # --- shared behaviour -----------------------------------------------------------------
    def scores(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, vector: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores of every served item for a history row (float32, the caller's to modify)."""
        return self._served(self.model_scores(hist_idx, hist_w, vector))

    def similarity(self, item: int) -> np.ndarray:
        """Similarity of every served item to model item ``item`` (float32, the caller's)."""
        return self._served(self.model_similarity(item))

    def top(
        self,
        hist_idx: np.ndarray,
        hist_w: np.ndarray,
        n: int,
        mask: ItemMask,
        category: str | None = None,
        banned: Banned = (),
        vector: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The exact top-``n`` served items of a history row allowed by ``mask`` (in
        ``category``) and not ``banned``: ``(int32 idx, float32 scores)`` best first."""
        return top_n(self.scores(hist_idx, hist_w, vector), n, mask.penalty(category), banned)

    def popularity(self) -> np.ndarray | None:
        """The family's own popularity of the model items, when it learns one (served when a
        version has no ``popularity.npy``)."""
        return None

    def vector_cache(self, capacity: int = 100_000) -> IncrementalFoldIn | None:
        """A per-worker cache of customer vectors updated per event, for families that have
        customer vectors (factor models); ``None`` for the others, whose per-event update
        already is the history-row product."""
        return None

    def _served(self, model_scores: np.ndarray) -> np.ndarray:
        """Model items' values extended to the new catalog items through their proxies."""
        if self.proxies is None:
            return model_scores
        out = np.empty(self.n_items, dtype=np.float32)
        out[: self.n_model_items] = model_scores
        out[self.n_model_items :] = self.proxies @ model_scores
        return out


class FactorScorer(Scorer):
    """ALS / BPR: a history row is folded into a customer vector ``x``; scores are ``Y x``.

    Public state (read by :class:`~recommender.foldin.IncrementalFoldIn`): ``alpha``, the
    ``factors``, the Gram matrix ``gram = Y^T Y + reg I`` and its inverse ``gram_inv``, ``yz =
    [Y | Y G^-1]`` (float64, C-contiguous, so a fold-in gathers history rows once), ``y64`` (a
    view of its first ``factors`` columns) and ``woodbury_max``.
    """

    def __init__(self, model: FactorModel, proxies: sp.csr_matrix | None = None) -> None:
        y = np.ascontiguousarray(model.item_factors_, dtype=np.float32)
        super().__init__(y.shape[0], proxies)
        self.alpha, reg = model.foldin_params()
        self.factors = f = y.shape[1]
        y64 = y.astype(np.float64)
        self.gram = y64.T @ y64 + reg * np.eye(f)
        self.gram_inv = np.linalg.inv(self.gram)
        self.yz = np.ascontiguousarray(np.hstack([y64, y64 @ self.gram_inv]))
        self.y64 = self.yz[:, :f]
        # Woodbury costs O(k^2 f + k^3), the direct solve O(k f^2 + f^3): switch at k ~ f/2
        self.woodbury_max = max(1, f // 2)
        self._y = y
        norms = np.linalg.norm(y, axis=1)
        norms[norms == 0] = 1.0
        self._norms = norms  # float32, for the cosine similarity of items
        # Items by decreasing norm, for the exact pruned top-k of top(). A new catalog item
        # scores as the weighted sum of its proxies' scores, i.e. as one more factor row
        # (proxies @ Y), so it takes part in the same scan.
        y_all = y64 if proxies is None else np.vstack([y64, proxies @ y64])
        norms_all = np.linalg.norm(y_all, axis=1)
        self._norm_order = np.argsort(-norms_all, kind="stable")
        self._y_by_norm = np.ascontiguousarray(y_all[self._norm_order], dtype=np.float32)
        self._norms_by_norm = norms_all[self._norm_order].astype(np.float32)
        self._norm_rank = np.empty_like(self._norm_order)
        self._norm_rank[self._norm_order] = np.arange(len(norms_all))
        self._penalty_by_norm: dict[str | None, tuple[int, np.ndarray]] = {}

    def fold_in(self, hist_idx: np.ndarray, hist_w: np.ndarray) -> np.ndarray:
        """The customer vector of a history row: the ALS user half-step, one small solve.

        Woodbury identity against the cached ``G = Y^T Y + reg I``: with ``k`` history items
        the cost is O(k^2 f + k^3) for k <= f/2, else one f x f Cholesky solve.
        """
        c = np.asarray(hist_w, dtype=np.float64) * self.alpha
        k = len(hist_idx)
        f = self.factors
        if k == 0:
            return np.zeros(f)
        if k <= self.woodbury_max:
            yz = self.yz[hist_idx]  # one gather: rows of Y and of Z = Y G^-1
            zh = yz[:, f:]
            kk = yz[:, :f] @ zh.T
            d = c - 1.0
            m = kk * d[:, None]
            m.flat[:: k + 1] += 1.0
            t = _dgesv(m, d * (kk @ c))[2]
            return np.asarray((c - t) @ zh)
        yh = self.yz[hist_idx, :f]
        a = self.gram + (yh.T * (c - 1.0)) @ yh
        return np.asarray(_dposv(a, yh.T @ c)[1])

    def model_scores(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, vector: np.ndarray | None = None
    ) -> np.ndarray:
        x = self.fold_in(hist_idx, hist_w) if vector is None else vector
        return self._y @ np.asarray(x, dtype=np.float32)

    def model_similarity(self, item: int) -> np.ndarray:
        cosine = (self._y @ self._y[item]) / (self._norms[item] * self._norms)
        return cosine.astype(np.float32)

    def contributions(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, rec_idx: np.ndarray
    ) -> np.ndarray:
        # implicit's ALS explain: score_i = sum_j c_j y_i^T A^-1 y_j
        c = self.alpha * np.asarray(hist_w, dtype=np.float64)
        yh = self.y64[hist_idx]
        a = self.gram + (yh.T * (c - 1.0)) @ yh
        v = scipy.linalg.solve(a, self.y64[rec_idx].T, assume_a="pos")
        return np.asarray((yh @ v) * c[:, None])

    def vector_cache(self, capacity: int = 100_000) -> IncrementalFoldIn:
        # Imported with the first factor model a worker loads: numba and the compiled kernels
        # are a quarter of a worker's start-up imports, and EASE or item-kNN never need them.
        from recommender.foldin import IncrementalFoldIn

        return IncrementalFoldIn(self, capacity)

    def top(
        self,
        hist_idx: np.ndarray,
        hist_w: np.ndarray,
        n: int,
        mask: ItemMask,
        category: str | None = None,
        banned: Banned = (),
        vector: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``n`` of ``Y x`` without scoring every item.

        Items are scanned in blocks by decreasing norm; since ``y.x <= |y| |x|``, once the n-th
        best allowed score reaches ``|x|`` times the next block's largest norm, no later item
        can enter the top ``n``. With popularity-skewed norms (ALS) a few blocks usually
        suffice. Same answer as scoring everything and masking (ties aside).
        """
        n = clip_n(n)
        if n == 0:
            return np.empty(0, np.int32), np.empty(0, np.float32)
        x = self.fold_in(hist_idx, hist_w) if vector is None else vector
        x = np.asarray(x, dtype=np.float32)
        pen = self._penalty_in_norm_order(mask, category)
        ranks = [
            self._norm_rank[np.asarray(e, dtype=np.int64)]
            for e in banned
            if e is not None and len(e)
        ]
        banned_pos = np.unique(np.concatenate(ranks)) if ranks else None
        x_norm = float(np.linalg.norm(x))
        total = len(self._norms_by_norm)
        best_pos = np.empty(0, np.int64)
        best_sc = np.empty(0, np.float32)
        start, size = 0, 1024
        while start < total:
            stop = min(total, start + size)
            sc = self._y_by_norm[start:stop] @ x
            sc += pen[start:stop]
            if banned_pos is not None:
                lo, hi = np.searchsorted(banned_pos, [start, stop])
                sc[banned_pos[lo:hi] - start] = -np.inf
            pos = np.concatenate([best_pos, np.arange(start, stop)])
            vals = np.concatenate([best_sc, sc])
            if len(vals) > n:
                keep = np.argpartition(vals, len(vals) - n)[len(vals) - n :]
                pos, vals = pos[keep], vals[keep]
            best_pos, best_sc = pos, vals
            start, size = stop, size * 2
            if (
                start < total
                and len(best_sc) == n
                and float(best_sc.min()) >= x_norm * float(self._norms_by_norm[start])
            ):
                break
        order = np.argsort(-best_sc, kind="stable")
        idx, sc = self._norm_order[best_pos[order]], best_sc[order]
        finite = np.isfinite(sc)
        return idx[finite].astype(np.int32), sc[finite].astype(np.float32)

    def _penalty_in_norm_order(self, mask: ItemMask, category: str | None) -> np.ndarray:
        """The mask's penalty reordered like the scan, kept until the mask changes."""
        cached = self._penalty_by_norm.get(category)
        if cached is None or cached[0] != mask.version:
            cached = (mask.version, mask.penalty(category)[self._norm_order])
            if len(self._penalty_by_norm) >= MAX_CACHED_FILTERS:
                self._penalty_by_norm = {}
            self._penalty_by_norm[category] = cached
        return cached[1]


class EaseScorer(Scorer):
    """EASE: a history row's scores are ``w @ B[hist]`` with the dense item-item ``B``."""

    def __init__(self, model: EASE, proxies: sp.csr_matrix | None = None) -> None:
        super().__init__(model.n_items_, proxies)
        self._b = model.B_

    def model_scores(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, vector: np.ndarray | None = None
    ) -> np.ndarray:
        return np.asarray(hist_w, dtype=np.float32) @ self._b[hist_idx]

    def model_similarity(self, item: int) -> np.ndarray:
        return np.array(self._b[item], dtype=np.float32)

    def contributions(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, rec_idx: np.ndarray
    ) -> np.ndarray:
        return np.asarray(self._b[hist_idx][:, rec_idx]) * np.asarray(hist_w)[:, None]


class KnnScorer(Scorer):
    """Item-kNN: a history row's scores are the row times the sparse similarity matrix."""

    def __init__(self, model: ItemKNN, proxies: sp.csr_matrix | None = None) -> None:
        super().__init__(model.n_items_, proxies)
        self._b = sp.csr_matrix(model.similarity_)

    def model_scores(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, vector: np.ndarray | None = None
    ) -> np.ndarray:
        row = sp.csr_matrix(
            (np.asarray(hist_w, dtype=np.float32), np.asarray(hist_idx), [0, len(hist_idx)]),
            shape=(1, self.n_model_items),
        )
        return np.asarray((row @ self._b).toarray(), dtype=np.float32).ravel()

    def model_similarity(self, item: int) -> np.ndarray:
        return np.asarray(self._b[item].toarray(), dtype=np.float32).ravel()

    def contributions(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, rec_idx: np.ndarray
    ) -> np.ndarray:
        sub = self._b[hist_idx][:, rec_idx].toarray()
        return np.asarray(sub) * np.asarray(hist_w)[:, None]


class PopularityScorer(Scorer):
    """Popularity: the same scores for every row, and no personal contributions."""

    personalised: ClassVar[bool] = False

    def __init__(self, model: Popularity, proxies: sp.csr_matrix | None = None) -> None:
        super().__init__(model.n_items_, proxies)
        self._popularity = np.asarray(model.popularity_, dtype=np.float32)

    def model_scores(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, vector: np.ndarray | None = None
    ) -> np.ndarray:
        return self._popularity.copy()

    def model_similarity(self, item: int) -> np.ndarray:
        return self._popularity.copy()

    def popularity(self) -> np.ndarray:
        return self._popularity

    def contributions(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, rec_idx: np.ndarray
    ) -> np.ndarray:
        return np.zeros((len(hist_idx), len(rec_idx)))


def scorer_for(model: Recommender, proxies: sp.csr_matrix | None = None) -> Scorer:
    """The scorer of a fitted model's family (chosen once, when a version is loaded)."""
    if isinstance(model, FactorModel):
        return FactorScorer(model, proxies)
    if isinstance(model, EASE):
        return EaseScorer(model, proxies)
    if isinstance(model, ItemKNN):
        return KnnScorer(model, proxies)
    if isinstance(model, Popularity):
        return PopularityScorer(model, proxies)
    raise TypeError(f"no scorer for {type(model).__name__}")
