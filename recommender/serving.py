"""The serving core: one loaded model version answering recommendations from history rows.

Everything that does not depend on the request is computed in :meth:`LoadedModel.load` (memory
mapped arrays, ALS Gram matrix and its inverse, normalised factors, category and availability
masks, popularity order, attribute proxies for new items), so a request costs one small solve
(ALS) or one history-row product (EASE / item-kNN), one pass over the scores and a top-k.

The customer's state is the history row (:class:`recommender.interactions.CustomerHistory`) that the
store keeps: a new purchase, cart or view changes it and therefore the very next answer, in every
worker, with no user factors to keep in sync or to erase. Factor models may keep a per-worker
cache of customer vectors (:class:`recommender.foldin.IncrementalFoldIn`), updated per event by
a rank-1 step and always checked against that row, so it is never a second source of truth.

Item indices returned are positions in :attr:`LoadedModel.item_ids`: the model's items first,
then catalogue items the model has never seen (served by attribute similarity).

Examples
--------
>>> import tempfile, scipy.sparse as sp
>>> from recommender.models import EASE
>>> from recommender.artifacts import save_version
>>> X = sp.csr_matrix([[1.0, 1, 0], [1.0, 1, 0], [0, 0, 1.0]])
>>> folder = save_version(tempfile.mkdtemp(), "t", EASE(l2=1.0).fit(X),
...                       np.array(["a", "b", "c"]), {})
>>> model = LoadedModel.load(folder)
>>> rec = model.recommend_for_history(np.array([0]), np.array([1.0]), n=1)
>>> model.item_ids[rec.item_idx].tolist(), rec.fallback
(['b'], None)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.linalg.lapack import dgesv as _dgesv
from scipy.linalg.lapack import dposv as _dposv

from recommender.artifacts import read_meta
from recommender.attributes import AttributeIndex
from recommender.models import FactorModel, Recommender

MAX_N = 100


class Recommendation(NamedTuple):
    """``item_idx`` (int32) and ``scores`` (float32) best first; ``reasons`` one list per item
    (empty unless ``explain``); ``fallback`` is ``None`` or ``"popular"``."""

    item_idx: np.ndarray
    scores: np.ndarray
    reasons: list[list[dict[str, Any]]]
    fallback: str | None


def pin_blas_threads(threads: int = 1) -> None:
    """Limit BLAS/OpenMP pools to ``threads`` (one per worker); warn if that did not take."""
    from threadpoolctl import threadpool_info, threadpool_limits

    threadpool_limits(limits=threads)
    busy = [
        i
        for i in threadpool_info()
        if i.get("user_api") == "blas" and i.get("num_threads", 1) > threads
    ]
    if busy:
        warnings.warn(
            f"BLAS still uses {busy[0]['num_threads']} threads per worker; "
            "set OPENBLAS_NUM_THREADS=1",
            RuntimeWarning,
            stacklevel=2,
        )


def _candidates(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices holding the top ``n`` scores (exact), faster than argpartition on big arrays.

    The n-th largest of a strided sample is a lower bound of the n-th largest overall, so every
    score >= it is a candidate and the true top ``n`` are among them (~n x stride candidates).
    """
    size = len(scores)
    if size <= 4096 or n * 64 >= size:
        return np.argpartition(scores, size - n)[size - n :] if n < size else np.arange(size)
    sample = scores[:: size // (n * 32)]
    threshold = np.partition(sample, len(sample) - n)[len(sample) - n]
    cand = np.flatnonzero(scores >= threshold)
    if len(cand) > n:
        cand = cand[np.argpartition(scores[cand], len(cand) - n)[len(cand) - n :]]
    return cand


def _entry(e: Any) -> dict[str, Any]:
    if isinstance(e, Mapping):
        return dict(e)
    return {k: getattr(e, k, None) for k in ("item_id", "category", "attributes", "available")}


class LoadedModel:
    """A model version ready to serve (build with :meth:`load`)."""

    version: str
    family: str
    meta: dict[str, Any]
    model: Recommender
    item_ids: np.ndarray
    item_index: dict[str, int]
    n_model_items: int
    n_items: int
    _available: np.ndarray
    _category_of: np.ndarray
    _categories: dict[str, int]
    _mask_cache: dict[str | None, np.ndarray]
    _popularity: np.ndarray
    _segments: dict[str, np.ndarray]
    _attributes: AttributeIndex | None
    _proxies: sp.csr_matrix | None
    _alpha: float
    _f: int
    _gram: np.ndarray
    _gram_inv: np.ndarray
    _yz: np.ndarray
    _woodbury_max: int
    _y64: np.ndarray

    # ------------------------------------------------------------------ load
    @classmethod
    def load(
        cls,
        folder: str | Path,
        catalog: Iterable[Any] | None = None,
        *,
        mmap: bool = True,
        pin_threads: bool = True,
        proxies_per_new_item: int = 10,
    ) -> LoadedModel:
        """Load a version folder and precompute everything requests need.

        Parameters
        ----------
        folder
            A folder written by :func:`recommender.artifacts.save_version`.
        catalog
            Items (``core.records.Item`` or dicts with ``item_id``, ``category``,
            ``attributes``, ``available`` and optionally ``deleted``). Unavailable/deleted items
            are masked; items not in the model are appended and served by attribute similarity.
            Without a catalogue every model item is available and uncategorised.
        """
        if pin_threads:
            pin_blas_threads(1)
        self = cls()
        folder = Path(folder)
        self.meta = read_meta(folder)
        self.version = str(self.meta.get("version", folder.name))
        self.model = Recommender.load(folder, mmap=mmap)
        self.family = self.model.family
        model_ids = np.load(folder / "item_ids.npy", allow_pickle=False)
        self.n_model_items = len(model_ids)
        entries = [_entry(e) for e in (catalog or [])]
        known = {str(i): k for k, i in enumerate(model_ids.tolist())}
        new_entries = [e for e in entries if str(e["item_id"]) not in known]
        self.item_ids = (
            np.array(model_ids.tolist() + [str(e["item_id"]) for e in new_entries])
            if new_entries
            else model_ids
        )
        self.item_index = {k: i for i, k in enumerate(self.item_ids.tolist())}
        n = len(self.item_ids)
        self.n_items = n

        # availability and categories
        self._available = np.ones(n, dtype=bool)
        self._category_of = np.full(n, -1, dtype=np.int32)
        self._categories = {}
        by_pos: list[dict[str, Any]] = [{"item_id": str(i)} for i in self.item_ids.tolist()]
        for e in entries:
            pos = self.item_index[str(e["item_id"])]
            by_pos[pos] = e
            if e.get("available") is False or e.get("deleted"):
                self._available[pos] = False
            cat = e.get("category")
            if cat:
                code = self._categories.setdefault(str(cat), len(self._categories))
                self._category_of[pos] = code
        self._mask_cache = {}

        # popularity (global and per segment), from the model's training data
        self._popularity = np.zeros(n, dtype=np.float32)
        pop_file = folder / "popularity.npy"
        if pop_file.exists():
            self._popularity[: self.n_model_items] = np.load(pop_file, allow_pickle=False)
        elif hasattr(self.model, "popularity_"):
            self._popularity[: self.n_model_items] = np.asarray(self.model.popularity_)
        self._segments = {}
        if (folder / "segment_names.npy").exists():
            names = np.load(folder / "segment_names.npy", allow_pickle=False)
            pops = np.load(folder / "segment_popularity.npy", allow_pickle=False)
            for s, row in zip(names.tolist(), pops, strict=True):
                full = np.zeros(n, dtype=np.float32)
                full[: self.n_model_items] = row
                self._segments[str(s)] = full

        # cold-start items: attribute proxies among trained items
        self._attributes = AttributeIndex.build(by_pos) if entries else None
        self._proxies = None
        if self._attributes is not None and n > self.n_model_items:
            self._proxies = self._attributes.proxies(
                np.arange(self.n_model_items, n),
                np.arange(self.n_model_items),
                proxies_per_new_item,
            )
            # new items inherit a share of their proxies' popularity
            self._popularity[self.n_model_items :] = (
                self._proxies @ self._popularity[: self.n_model_items] * 0.5
            )

        self._prepare_family()
        return self

    def _prepare_family(self) -> None:
        m = self.model
        if isinstance(m, FactorModel):
            y = np.ascontiguousarray(m.item_factors_, dtype=np.float32)
            alpha, reg = m._foldin_params()
            self._alpha = alpha
            y64 = y.astype(np.float64)
            gram = y64.T @ y64 + reg * np.eye(y.shape[1])
            self._gram = gram
            self._gram_inv = np.linalg.inv(gram)
            # [Y | Y G^-1] side by side so the Woodbury fold-in gathers history rows once
            self._yz = np.ascontiguousarray(np.hstack([y64, y64 @ self._gram_inv]))
            self._y64 = self._yz[:, : y.shape[1]]  # a view: float64 item factors
            self._f = y.shape[1]
            # Woodbury costs O(k^2 f + k^3), the direct solve O(k f^2 + f^3): switch at k ~ f/2
            self._woodbury_max = max(1, y.shape[1] // 2)
            self._y = y
            # Items by decreasing norm, for the exact pruned top-k of _factor_top. A new catalog
            # item scores as the weighted sum of its proxies' scores, i.e. as one more factor
            # row (proxies @ Y), so it takes part in the same scan.
            y_all = y64 if self._proxies is None else np.vstack([y64, self._proxies @ y64])
            norms_all = np.linalg.norm(y_all, axis=1)
            self._norm_order = np.argsort(-norms_all, kind="stable")
            self._y_by_norm = np.ascontiguousarray(y_all[self._norm_order], dtype=np.float32)
            self._norms_by_norm = norms_all[self._norm_order].astype(np.float32)
            self._norm_rank = np.empty_like(self._norm_order)
            self._norm_rank[self._norm_order] = np.arange(len(norms_all))
            self._penalty_by_norm: dict[str | None, np.ndarray] = {}
            norms = np.linalg.norm(y64, axis=1)
            norms[norms == 0] = 1.0
            self._y_unit = (y64 / norms[:, None]).astype(np.float32)
        elif m.family == "ease":
            self._b_dense = m.B_  # type: ignore[attr-defined]
        elif m.family == "itemknn":
            self._b_sparse = sp.csr_matrix(m.similarity_)  # type: ignore[attr-defined]

    @property
    def uses_factors(self) -> bool:
        """True for factor models (ALS, BPR): a customer is a vector from :meth:`fold_in`, which
        :class:`recommender.foldin.IncrementalFoldIn` can update per event. EASE and item-kNN
        score the history row directly, so there is no customer state to update."""
        return self.family in ("als", "bpr") and isinstance(self.model, FactorModel)

    # ------------------------------------------------------------------ availability
    def set_available(self, item_ids: Iterable[str], available: bool) -> None:
        """Mark items (un)available or deleted at runtime (e.g. after ``DELETE /items``)."""
        for i in item_ids:
            pos = self.item_index.get(str(i))
            if pos is not None:
                self._available[pos] = available
        self._mask_cache.clear()
        if self.uses_factors:
            self._penalty_by_norm.clear()

    def allowed(self, idx: np.ndarray, category: str | None = None) -> np.ndarray:
        """Boolean mask: which of ``idx`` are available now (and in ``category`` when given)."""
        ok = self._available[idx]
        if category is not None:
            ok = ok & (self._category_of[idx] == self._categories.get(category, -2))
        return ok

    def _penalty(self, category: str | None) -> np.ndarray:
        """Additive mask (0 allowed, -inf not) for availability and category, cached."""
        cached = self._mask_cache.get(category)
        if cached is None:
            ok = self._available.copy()
            if category is not None:
                code = self._categories.get(category, -2)
                ok &= self._category_of == code
            cached = np.where(ok, 0.0, -np.inf).astype(np.float32)
            self._mask_cache[category] = cached
        return cached

    # ------------------------------------------------------------------ core scoring
    def fold_in(self, hist_idx: np.ndarray, hist_w: np.ndarray) -> np.ndarray:
        """ALS/BPR customer vector of a history row: the user half-step, one small solve.

        Woodbury identity against the cached ``G = Y^T Y + reg I``: with ``k`` history items
        the cost is O(k^2 f + k^3) for k <= f, else one f x f Cholesky solve.
        """
        c = np.asarray(hist_w, dtype=np.float64) * self._alpha
        k = len(hist_idx)
        f = self._f
        if k == 0:
            return np.zeros(f)
        if k <= self._woodbury_max:
            yz = self._yz[hist_idx]  # one gather: rows of Y and of Z = Y G^-1
            zh = yz[:, f:]
            kk = yz[:, :f] @ zh.T
            d = c - 1.0
            m = kk * d[:, None]
            m.flat[:: k + 1] += 1.0
            t = _dgesv(m, d * (kk @ c))[2]
            return np.asarray((c - t) @ zh)
        yh = self._yz[hist_idx, :f]
        a = self._gram + (yh.T * (c - 1.0)) @ yh
        return np.asarray(_dposv(a, yh.T @ c)[1])

    def _model_scores(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, user_vector: np.ndarray | None = None
    ) -> np.ndarray:
        """Scores of the model's items for one history row (float32, writable)."""
        fam = self.family
        if fam in ("als", "bpr"):
            x = self.fold_in(hist_idx, hist_w) if user_vector is None else user_vector
            return self._y @ np.asarray(x, dtype=np.float32)
        if fam == "ease":
            return np.asarray(hist_w, dtype=np.float32) @ self._b_dense[hist_idx]
        if fam == "itemknn":
            row = sp.csr_matrix(
                (np.asarray(hist_w, dtype=np.float32), np.asarray(hist_idx), [0, len(hist_idx)]),
                shape=(1, self.n_model_items),
            )
            return np.asarray((row @ self._b_sparse).toarray(), dtype=np.float32).ravel()
        return self._popularity[: self.n_model_items].copy()

    def _all_scores(self, model_scores: np.ndarray) -> np.ndarray:
        if self.n_items == self.n_model_items:
            return model_scores
        out = np.empty(self.n_items, dtype=np.float32)
        out[: self.n_model_items] = model_scores
        assert self._proxies is not None
        out[self.n_model_items :] = self._proxies @ model_scores
        return out

    def _top(
        self, scores: np.ndarray, n: int, category: str | None, exclude: list[np.ndarray | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        n = max(0, min(int(n), MAX_N))
        scores += self._penalty(category)
        for ex in exclude:
            if ex is not None and len(ex):
                scores[np.asarray(ex)] = -np.inf
        if n == 0:
            return np.empty(0, np.int32), np.empty(0, np.float32)
        part = _candidates(scores, n)
        top = scores[part]
        order = np.argsort(-top, kind="stable")
        idx, sc = part[order], top[order]
        keep = np.isfinite(sc)
        return idx[keep].astype(np.int32), sc[keep].astype(np.float32)

    def _factor_top(
        self, x: np.ndarray, n: int, category: str | None, exclude: list[np.ndarray | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-``n`` of ``Y x`` without scoring every item (factor models).

        Items are scanned in blocks by decreasing norm; since ``y.x <= |y| |x|``, once the n-th
        best allowed score reaches ``|x|`` times the next block's largest norm, no later item can
        enter the top ``n``. With popularity-skewed norms (ALS) a few blocks usually suffice.
        Same answer as scoring everything and masking (ties aside).
        """
        n = max(0, min(int(n), MAX_N))
        if n == 0:
            return np.empty(0, np.int32), np.empty(0, np.float32)
        pen = self._penalty_by_norm.get(category)
        if pen is None:
            pen = self._penalty_by_norm[category] = self._penalty(category)[self._norm_order]
        banned = [
            self._norm_rank[np.asarray(e, dtype=np.int64)]
            for e in exclude
            if e is not None and len(e)
        ]
        banned_pos = np.unique(np.concatenate(banned)) if banned else None
        x = np.asarray(x, dtype=np.float32)
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
        keep_finite = np.isfinite(sc)
        return idx[keep_finite].astype(np.int32), sc[keep_finite].astype(np.float32)

    # ------------------------------------------------------------------ public answers
    def popular(
        self,
        n: int = 10,
        *,
        segment: str | None = None,
        category: str | None = None,
        exclude_idx: np.ndarray | None = None,
        purchased_idx: np.ndarray | None = None,
    ) -> Recommendation:
        """Non-personalised answer: most popular (within ``segment`` when it is known)."""
        pop = self._segments.get(segment) if segment is not None else None
        scores = (self._popularity if pop is None else pop).copy()
        idx, sc = self._top(scores, n, category, [exclude_idx, purchased_idx])
        return Recommendation(idx, sc, [[{"type": "popular"}] for _ in idx], "popular")

    def recommend_for_history(
        self,
        hist_idx: np.ndarray,
        hist_w: np.ndarray,
        n: int = 10,
        *,
        purchased_idx: np.ndarray | None = None,
        allow_repurchase: bool = False,
        exclude_idx: np.ndarray | None = None,
        category: str | None = None,
        explain: bool = False,
        segment: str | None = None,
        user_vector: np.ndarray | None = None,
    ) -> Recommendation:
        """Personalised top-``n`` for one history row (``CustomerHistory.idx/.weights``).

        Never returns a purchased item (unless ``allow_repurchase``), an unavailable/deleted or
        excluded item, an item outside ``category``, or an item twice. An empty history (unknown
        customer) gets :meth:`popular` for its ``segment`` with ``fallback="popular"``.
        ``user_vector`` (factor models only) is this row's customer vector when the caller
        already has it, e.g. from :class:`recommender.foldin.IncrementalFoldIn`; it replaces the
        fold-in and must belong to this row (other families ignore it).
        """
        hist_idx = np.asarray(hist_idx, dtype=np.int64)
        hist_w = np.asarray(hist_w, dtype=np.float32)
        in_model = hist_idx < self.n_model_items
        hist_idx, hist_w = hist_idx[in_model], hist_w[in_model]
        purchased = None if allow_repurchase else purchased_idx
        if len(hist_idx) == 0 or self.family == "popularity":
            rec = self.popular(
                n,
                segment=segment,
                category=category,
                exclude_idx=exclude_idx,
                purchased_idx=purchased,
            )
            return rec if len(hist_idx) == 0 else rec._replace(fallback=None)
        if self.uses_factors:
            x = self.fold_in(hist_idx, hist_w) if user_vector is None else user_vector
            idx, sc = self._factor_top(x, n, category, [exclude_idx, purchased])
        else:
            scores = self._all_scores(self._model_scores(hist_idx, hist_w, user_vector))
            idx, sc = self._top(scores, n, category, [exclude_idx, purchased])
        reasons = self._explain(hist_idx, hist_w, idx) if explain else [[] for _ in idx]
        return Recommendation(idx, sc, reasons, None)

    def similar(
        self,
        item_idx: int,
        n: int = 10,
        *,
        category: str | None = None,
        exclude_idx: np.ndarray | None = None,
    ) -> Recommendation:
        """Items most similar to one item; new items by attribute similarity."""
        item_idx = int(item_idx)
        if item_idx >= self.n_model_items or self.family == "popularity":
            assert self._attributes is not None or item_idx < self.n_model_items
            if self._attributes is None:
                return self.popular(n, category=category, exclude_idx=np.array([item_idx]))
            scores = self._attributes.similar_to(item_idx, np.arange(self.n_items))
            scores = scores.astype(np.float32)
            reason = "similar_attributes"
        else:
            model_scores = np.asarray(
                self.model._similarity_scores(np.array([item_idx]))[0], dtype=np.float32
            )
            scores = self._all_scores(model_scores.copy())
            reason = "similar"
        ex = np.array([item_idx])
        idx, sc = self._top(scores, n, category, [ex, exclude_idx])
        return Recommendation(
            idx, sc, [[{"type": reason, "item_ids": [self.item_ids[item_idx]]}] for _ in idx], None
        )

    def cross_sell(
        self,
        basket_idx: np.ndarray,
        n: int = 10,
        *,
        hist_idx: np.ndarray | None = None,
        hist_w: np.ndarray | None = None,
        basket_weight: float = 4.0,
        purchased_idx: np.ndarray | None = None,
        allow_repurchase: bool = False,
        exclude_idx: np.ndarray | None = None,
        category: str | None = None,
        explain: bool = False,
        user_vector: np.ndarray | None = None,
    ) -> Recommendation:
        """Complements of a basket: the basket (as ``basket_weight`` cells, new items through
        their attribute proxies) added to the customer's history row when there is one.

        ``user_vector`` (factor models) is the vector of the combined row :meth:`basket_row`
        returns, e.g. from :class:`~recommender.foldin.IncrementalFoldIn` kept under a basket
        key; it replaces the fold-in."""
        basket = np.unique(np.asarray(basket_idx, dtype=np.int64))
        keys, vals = self.basket_row(basket, hist_idx, hist_w, basket_weight)
        purchased = None if allow_repurchase else purchased_idx
        if not len(keys) or self.family == "popularity":
            rec = self.popular(
                n,
                category=category,
                exclude_idx=np.concatenate(
                    [basket, np.asarray(exclude_idx if exclude_idx is not None else [], np.int64)]
                ),
                purchased_idx=purchased,
            )
            return rec if not len(keys) else rec._replace(fallback=None)
        scores = self._all_scores(self._model_scores(keys, vals, user_vector))
        idx, sc = self._top(scores, n, category, [basket, exclude_idx, purchased])
        if explain:
            in_basket = np.isin(keys, basket)
            reasons = (
                self._explain(keys[in_basket], vals[in_basket], idx, "bought_together")
                if in_basket.any()
                else [[] for _ in idx]
            )
        else:
            reasons = [[] for _ in idx]
        return Recommendation(idx, sc, reasons, None)

    def basket_row(
        self,
        basket_idx: np.ndarray,
        hist_idx: np.ndarray | None = None,
        hist_w: np.ndarray | None = None,
        basket_weight: float = 4.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The row :meth:`cross_sell` scores: history cells plus ``basket_weight`` per basket
        item (new items through their attribute proxies); sorted int64 indices, float32."""
        basket = np.unique(np.asarray(basket_idx, dtype=np.int64))
        cells: dict[int, float] = {}
        if hist_idx is not None and hist_w is not None:
            for i, w in zip(
                np.asarray(hist_idx).tolist(), np.asarray(hist_w).tolist(), strict=True
            ):
                if i < self.n_model_items:
                    cells[i] = cells.get(i, 0.0) + float(w)
        for b in basket.tolist():
            if b < self.n_model_items:
                cells[b] = cells.get(b, 0.0) + basket_weight
            elif self._proxies is not None:
                row = self._proxies[b - self.n_model_items]
                for j, w in zip(row.indices.tolist(), row.data.tolist(), strict=True):
                    cells[j] = cells.get(j, 0.0) + basket_weight * float(w)
        keys = np.array(sorted(cells), dtype=np.int64)
        vals = np.array([cells[k] for k in keys.tolist()], dtype=np.float32)
        return keys, vals

    # ------------------------------------------------------------------ explanations
    def _contributions(
        self, hist_idx: np.ndarray, hist_w: np.ndarray, rec_model_idx: np.ndarray
    ) -> np.ndarray:
        """(len(hist) x len(rec)) contribution of each history item to each recommended score."""
        fam = self.family
        if fam in ("als", "bpr"):
            # implicit's ALS explain: score_i = sum_j c_j y_i^T A^-1 y_j
            c = self._alpha * hist_w.astype(np.float64)
            yh = self._yz[hist_idx, : self._f]
            a = self._gram + (yh.T * (c - 1.0)) @ yh
            v = scipy.linalg.solve(a, self._yz[rec_model_idx, : self._f].T, assume_a="pos")
            return np.asarray((yh @ v) * c[:, None])
        if fam == "ease":
            return np.asarray(self._b_dense[hist_idx][:, rec_model_idx]) * hist_w[:, None]
        if fam == "itemknn":
            sub = self._b_sparse[hist_idx][:, rec_model_idx].toarray()
            return np.asarray(sub) * hist_w[:, None]
        return np.zeros((len(hist_idx), len(rec_model_idx)))

    def _explain(
        self,
        hist_idx: np.ndarray,
        hist_w: np.ndarray,
        rec_idx: np.ndarray,
        kind: str = "because_you_bought",
        top: int = 3,
    ) -> list[list[dict[str, Any]]]:
        rec_model = np.where(rec_idx < self.n_model_items, rec_idx, 0)
        contrib = self._contributions(hist_idx, hist_w, rec_model)
        out: list[list[dict[str, Any]]] = []
        for col, item in enumerate(rec_idx.tolist()):
            if item >= self.n_model_items:
                out.append([{"type": "similar_attributes"}])
                continue
            order = np.argsort(-contrib[:, col], kind="stable")[:top]
            ids = [str(self.item_ids[hist_idx[j]]) for j in order if contrib[j, col] > 0]
            out.append([{"type": kind, "item_ids": ids}] if ids else [{"type": "profile"}])
        return out
