"""Per-event customer update for factor models: an incremental fold-in cache, one per worker.

A new purchase, cart or view changes one cell of the customer's history row, and with it the
customer's ALS (or BPR least-squares) vector

    x = A^-1 b,   A = Y^T Y + reg I + sum_i (c_i - 1) y_i y_i^T,   b = sum_i c_i y_i,

with implicit's confidence ``c_i = alpha * w_i`` over the row's cells (``w_i > 0``). A changed cell
is a rank-1 change of ``A`` plus a change of ``b`` along the same ``y_i``, so with ``A^-1`` cached
the new vector costs one Sherman-Morrison step, O(f^2), instead of a new solve::

    u = A^-1 y,  den = 1 + dA * y.u,  x += u * (db - dA * y.x) / den,  A^-1 -= dA/den * u u^T

where a cell contributes ``(dA, db) = (c - 1, c)`` when ``w > 0`` and ``(0, 0)`` when absent, so a
weight going from 0 to ``w`` (the p=0 -> 1 transition) adds ``(c - 1, c)`` and a weight dropping to
0 (a return) removes it.

The history row in the store stays the source of truth: :meth:`IncrementalFoldIn.vector` is
given the current (finalized) row and diffs it against the row it saw last for that customer.
The usual diff is one cell; a worker whose cache is stale (another worker took the events, or
several arrived) just sees a bigger diff, and beyond ``max_changes`` cells it re-solves from
the row. So several workers stay correct with no coordination, and nothing the cache holds is
persisted: :meth:`~IncrementalFoldIn.forget` on erasure drops the customer from this worker, and
an erased customer's next row is empty anyway.

Only factor models (``model.uses_factors``: ALS, BPR) have a vector to update; for EASE and
item-kNN the "update" already is the history-row product of
:meth:`~recommender.serving.LoadedModel.recommend_for_history`.

Memory: a customer whose vector was updated at least once keeps ``A^-1`` (``8 f^2`` bytes, 32 KiB
at 64 factors); a customer only ever read keeps its row and vector. ``capacity`` defaults to what
fits in ``max_bytes`` when every entry holds ``A^-1``.

Drift: Sherman-Morrison steps accumulate rounding, so every ``refresh_every`` (default 64)
updates of a customer the cache re-solves from the row. In float64 the drift after 64 steps is
~1e-12 relative (the tests run hundreds of steps, returns included, against the exact fold-in).

Examples
--------
>>> import tempfile, scipy.sparse as sp
>>> from training.artifacts import save_version
>>> from training.models import ALS
>>> from recommender.serving import LoadedModel
>>> X = sp.random(60, 40, density=0.2, format="csr", random_state=0, dtype="float32")
>>> folder = save_version(tempfile.mkdtemp(), "t", ALS(factors=8, iterations=3).fit(X),
...                       np.arange(40).astype(str), {})
>>> model = LoadedModel.load(folder)
>>> cache = IncrementalFoldIn(model)
>>> x1 = cache.vector("c1", np.array([3, 7], np.int32), np.array([1.0, 4.0], np.float32))
>>> x2 = cache.vector("c1", np.array([3, 7, 9], np.int32), np.array([1.0, 4.0, 2.0], np.float32))
>>> bool(np.allclose(x2, model.fold_in(np.array([3, 7, 9]), np.array([1.0, 4.0, 2.0]))))
True
>>> rec = model.recommend_for_history(np.array([3, 7, 9]), np.array([1.0, 4.0, 2.0]), 3,
...                                   user_vector=x2)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import TYPE_CHECKING

import numpy as np
from scipy.linalg.blas import daxpy, ddot, dsymv, dsyr
from scipy.linalg.lapack import dpotrf, dpotri

if TYPE_CHECKING:
    from recommender.serving import LoadedModel

_INT32_MAX = np.iinfo(np.int32).max


class _Entry:
    """One customer's cached state (``ainv`` holds the upper triangle, Fortran order)."""

    __slots__ = ("ainv", "idx", "idx_key", "steps", "w", "w_key", "x")

    def __init__(self, idx: np.ndarray, w: np.ndarray, x: np.ndarray,
                 ainv: np.ndarray | None) -> None:
        self.idx = idx
        self.w = w
        self.idx_key = idx.tobytes()
        self.w_key = w.tobytes()
        self.x = x
        self.ainv = ainv
        self.steps = 0


class IncrementalFoldIn:
    """Per-worker LRU cache of customer vectors, updated by Sherman-Morrison steps.

    Parameters
    ----------
    model
        A loaded factor model (``model.uses_factors``); the cache belongs to that model version
        (make a new one when the served version changes).
    capacity
        Customers kept (least recently used evicted). ``None``: as many as ``max_bytes`` allows
        when every entry holds ``A^-1`` (capped at 100 000).
    max_bytes
        Memory budget used when ``capacity`` is ``None``.
    max_changes
        Changed cells handled incrementally; a bigger diff (stale cache) re-solves from the row.
    refresh_every
        Incremental steps before a customer's state is re-solved from its row (bounds drift).

    Examples
    --------
    ``vector(key, row.idx, row.weights)`` after every event or request, ``forget(key)`` on
    erasure; see the module docstring.
    """

    def __init__(self, model: LoadedModel, capacity: int | None = None, *,
                 max_bytes: int = 256 * 2**20, max_changes: int = 8,
                 refresh_every: int = 64) -> None:
        if not model.uses_factors:
            raise ValueError(f"IncrementalFoldIn needs a factor model (ALS/BPR), not "
                             f"{model.family!r}: its update already is the history-row product")
        self.model = model
        f = model._f
        self.factors = f
        self.entry_bytes = 8 * f * f + 16 * f + 512
        if capacity is None:
            capacity = min(100_000, max(1, max_bytes // self.entry_bytes))
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = int(capacity)
        self.max_changes = int(max_changes)
        self.refresh_every = int(refresh_every)
        self._alpha = float(model._alpha)
        self._n_model = model.n_model_items
        self._gram = model._gram
        self._y64 = model._y64
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = {"hits": 0, "updates": 0, "solves": 0, "misses": 0}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    # ------------------------------------------------------------------ public
    def vector(self, key: Hashable, hist_idx: np.ndarray, hist_w: np.ndarray) -> np.ndarray:
        """The customer's vector (float64, length ``factors``) for its current history row.

        ``hist_idx``/``hist_w`` are a finalized row (``CustomerHistory.idx/.weights``: indices
        sorted and unique, weights > 0; other rows are canonicalised on a slower path); indices
        of catalogue items the model has not seen are ignored, as
        :meth:`LoadedModel.recommend_for_history` does. Equal (within rounding) to
        ``model.fold_in(hist_idx, hist_w)``.
        """
        idx = np.asarray(hist_idx, dtype=np.int32)
        w = np.asarray(hist_w, dtype=np.float32)
        k = len(idx)
        if k and idx[k - 1] >= self._n_model:
            keep = idx < self._n_model
            idx, w = idx[keep], w[keep]
        # the row's bytes: equality tests and the diff's fast paths without numpy calls
        ik, wk = idx.tobytes(), w.tobytes()
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                return self._miss(key, idx, w).copy()
            self._entries.move_to_end(key)
            same_idx = ik == e.idx_key
            cells: list[tuple[int, float, float]] | None
            if same_idx:
                if wk == e.w_key:
                    self.stats["hits"] += 1
                    return e.x.copy()
                ch = (w != e.w).nonzero()[0]
                if len(ch) == 1:  # one event: one weight changed
                    p = int(ch[0])
                    cells = [(idx.item(p), e.w.item(p), w.item(p))]
                else:
                    cells = list(zip(idx[ch].tolist(), e.w[ch].tolist(), w[ch].tolist(),
                                     strict=True))
            else:
                cells = self._diff(e, idx, w, ik, wk)
                if cells is None:  # not a finalized row: canonicalise, then re-solve
                    idx, w = _canonical(idx, w)
            if (cells is None or e.ainv is None or len(cells) > self.max_changes
                    or e.steps + len(cells) > self.refresh_every
                    or not self._steps(e, cells)):
                return self._solve(e, idx, w).copy()
            self.stats["updates"] += 1
            if not same_idx:
                e.idx = idx.copy()
                e.idx_key = ik
            e.w = w.copy()
            e.w_key = wk
            return e.x.copy()

    def forget(self, key: Hashable) -> None:
        """Drop one customer (erasure); a no-op when it is not cached."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Drop every customer (e.g. when the served model version changes)."""
        with self._lock:
            self._entries.clear()

    # ------------------------------------------------------------------ internals
    def _miss(self, key: Hashable, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
        """First sight of a customer: the model's fold-in; ``A^-1`` waits for a first update."""
        self.stats["misses"] += 1
        if (len(idx) > 1 and not (idx[1:] > idx[:-1]).all()) or not (w > 0).all():
            idx, w = _canonical(idx, w)
        x = np.asarray(self.model.fold_in(idx, w), dtype=np.float64)
        self._entries[key] = _Entry(idx.copy(), w.copy(), x, None)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return x

    def _solve(self, e: _Entry, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Full solve from the row: ``A^-1`` (upper triangle, via Cholesky) and ``x``."""
        self.stats["solves"] += 1
        c = w.astype(np.float64) * self._alpha
        yh = self._y64[idx]
        a = self._gram + (yh.T * (c - 1.0)) @ yh
        chol, info = dpotrf(a, lower=0, clean=0, overwrite_a=1)
        if info == 0:
            ainv, info = dpotri(chol, lower=0, overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError(f"fold-in matrix is not positive definite ({info})")
        e.ainv = np.asfortranarray(ainv)
        e.x = dsymv(1.0, e.ainv, yh.T @ c)
        e.steps = 0
        e.idx, e.w = idx.copy(), w.copy()
        e.idx_key, e.w_key = e.idx.tobytes(), e.w.tobytes()
        return e.x

    def _diff(self, e: _Entry, idx: np.ndarray, w: np.ndarray, ik: bytes, wk: bytes
              ) -> list[tuple[int, float, float]] | None:
        """``(item, old weight, new weight)`` of the cells that differ (0 = absent), or ``None``
        when ``idx`` is not sorted and unique or a weight is not positive."""
        old_idx, old_w = e.idx, e.w
        k_old, k = len(old_idx), len(idx)
        # one cell added (new item) or removed (return), all others unchanged: the usual event.
        # p is the first position where the indices differ; the rest is compared as bytes
        # (4 bytes per int32 index / float32 weight).
        if k == k_old + 1:
            neq = idx[:k_old] != old_idx
            p = int(neq.argmax()) if k_old else 0
            if k_old and not neq[p]:
                p = k_old
            b = 4 * p
            if (ik[b + 4:] == e.idx_key[b:] and wk[:b] == e.w_key[:b]
                    and wk[b + 4:] == e.w_key[b:]):
                j, v = idx.item(p), w.item(p)
                if v > 0 and (p == 0 or idx.item(p - 1) < j) and (p == k_old or
                                                                   j < idx.item(p + 1)):
                    return [(j, 0.0, v)]
        elif k == k_old - 1:
            neq = idx != old_idx[:k]
            p = int(neq.argmax()) if k else 0
            if k and not neq[p]:
                p = k
            b = 4 * p
            if (ik[b:] == e.idx_key[b + 4:] and wk[:b] == e.w_key[:b]
                    and wk[b:] == e.w_key[b + 4:]):
                return [(old_idx.item(p), old_w.item(p), 0.0)]
        if (k > 1 and not (idx[1:] > idx[:-1]).all()) or not (w > 0).all():
            return None
        if k_old == 0:
            return list(zip(idx.tolist(), [0.0] * k, w.tolist(), strict=True))
        pos = np.searchsorted(old_idx, idx)
        np.minimum(pos, k_old - 1, out=pos)
        hit = old_idx[pos] == idx
        was = np.where(hit, old_w[pos], np.float32(0.0))
        ch = (was != w).nonzero()[0]
        cells = list(zip(idx[ch].tolist(), was[ch].tolist(), w[ch].tolist(), strict=True))
        if np.count_nonzero(hit) < k_old:
            gone = np.ones(k_old, dtype=bool)
            gone[pos[hit]] = False
            g = gone.nonzero()[0]
            cells += zip(old_idx[g].tolist(), old_w[g].tolist(), [0.0] * len(g), strict=True)
        return cells

    def _steps(self, e: _Entry, cells: list[tuple[int, float, float]]) -> bool:
        """Sherman-Morrison step per changed cell, in place; ``False`` if one is unsafe (the
        caller then re-solves from the row)."""
        alpha = self._alpha
        y64 = self._y64
        ainv = e.ainv
        x = e.x
        for j, old, new in cells:
            # a present cell adds (c - 1) y y^T to A and c y to b; an absent one nothing
            da = db = 0.0
            if new > 0:
                db = alpha * new
                da = db - 1.0
            if old > 0:
                db -= alpha * old
                da -= alpha * old - 1.0
            y = y64[j]
            u = dsymv(1.0, ainv, y)
            if da != 0.0:
                den = 1.0 + da * ddot(u, y)
                if not den > 1e-8:  # near-singular downdate: too much cancellation
                    return False
                x = daxpy(u, x, a=(db - da * ddot(y, x)) / den)
                dsyr(-da / den, u, a=ainv, overwrite_a=1)
            else:
                x = daxpy(u, x, a=db)
        e.x = x
        e.steps += len(cells)
        return True


def _canonical(idx: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by index, sum duplicate cells and drop cells <= 0 (rows should arrive finalized;
    this is the guard for those that do not)."""
    uniq, inv = np.unique(idx, return_inverse=True)
    sums = np.bincount(inv, weights=w).astype(np.float32)
    keep = sums > 0
    return uniq[keep].astype(np.int32), sums[keep]
