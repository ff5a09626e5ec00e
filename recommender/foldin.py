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

Only factor models (:class:`~recommender.scoring.FactorScorer`: ALS, BPR) have a vector to
update; for EASE and item-kNN the "update" already is the history-row product of their scorer.

Memory: every cached customer keeps its row (8 bytes a cell) and vector (``8 f`` bytes); a
customer whose vector was updated also keeps ``A^-1`` (``8 f^2`` bytes, 32 KiB at 64 factors), and
those inverses have their own budget, ``max_bytes``: beyond it the least recently updated
customer's inverse is dropped (its next event re-solves), so a worker can hold many read-only
customers and the customers in an active session.

Drift: Sherman-Morrison steps accumulate rounding, so after ``refresh_every`` (default 256)
steps a customer's state is re-solved from its row (a solve amortised over 256 events, well
under a microsecond each). The bound is conservative: in float64 on the Online Retail ALS model
(64 factors) the largest relative difference to the exact fold-in was 4e-15 after 256 steps and
7e-15 after 2000 (new items, increases and returns mixed); a step whose denominator
``1 + dA y.u`` gets near 0 (a downdate losing positive definiteness) re-solves instead. The
tests run hundreds of unrefreshed steps against the exact fold-in.

Speed (``load/bench_reco_foldin.py``): the usual event is one call of a compiled kernel
(numba, :func:`_one_cell_step`) that walks the old and new rows once to find the changed cell
and takes the step on the customer's state, ``[A^-1; x]`` as one ``(f + 1) x f`` array, so
``u = A^-1 y`` and ``y.x`` come out of one pass: at 64 factors, calling BLAS wrappers per step
would cost more in call overhead than the O(f^2) arithmetic (figures in ``load/HISTORY.md``).

Examples
--------
>>> import tempfile, scipy.sparse as sp
>>> from recommender.artifacts import save_version
>>> from recommender.models import ALS
>>> from recommender.serving import LoadedModel
>>> X = sp.random(60, 40, density=0.2, format="csr", random_state=0, dtype="float32")
>>> folder = save_version(tempfile.mkdtemp(), "t", ALS(factors=8, iterations=3).fit(X),
...                       np.arange(40).astype(str), {})
>>> model = LoadedModel.load(folder)
>>> cache = model.scorer.vector_cache()
>>> x1 = cache.vector("c1", np.array([3, 7], np.int32), np.array([1.0, 4.0], np.float32))
>>> x2 = cache.vector("c1", np.array([3, 7, 9], np.int32), np.array([1.0, 4.0, 2.0], np.float32))
>>> bool(np.allclose(x2, cache.scorer.fold_in(np.array([3, 7, 9]), np.array([1.0, 4.0, 2.0]))))
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
from numba import njit, types
from scipy.linalg.lapack import dgesv, dpotrf, dpotri

if TYPE_CHECKING:
    from recommender.scoring import FactorScorer

# ---------------------------------------------------------------------------------- kernels
# Compiled once (explicit signatures: at import, then from numba's on-disk cache), so no request
# ever waits for the JIT. Rows are read-only in the signatures: writable arrays pass as well.
# fastmath only lets the loops be vectorised (reassociation, fused multiply-add, reciprocals:
# measured 1.3 us a step at 64 factors, 2.9 us without, 2.1 us without "arcp"); NaN and
# infinity keep their meaning, which the conditioning check relies on.
_FAST = {"reassoc", "contract", "arcp"}
_ROW_IDX = types.Array(types.int32, 1, "C", readonly=True)
_ROW_W = types.Array(types.float32, 1, "C", readonly=True)
_STATE = types.Array(types.float64, 2, "C")
# Item factors are read from FactorScorer.yz, the C-contiguous ``[Y | Y G^-1]`` (first ``f``
# columns): contiguous rows let the loops vectorise (a strided view of Y measured 3x slower).
_ITEM_ROWS = types.Array(types.float64, 2, "C", readonly=True)
_ITEM_ROW = types.Array(types.float64, 1, "C", readonly=True)

#: :func:`_one_cell_step` results
STEPPED, SAME_ROW, NOT_ONE_CELL, NOT_FINALIZED = 1, 0, -1, -2


@njit(
    types.boolean(_STATE, _ITEM_ROW, types.float64, types.float64),
    cache=True,
    nogil=True,
    fastmath=_FAST,
)
def _rank1_step(state: np.ndarray, y: np.ndarray, da: float, db: float) -> bool:
    """One Sherman-Morrison step in place on ``state = [A^-1; x]`` for ``A += da y y^T``,
    ``b += db y`` (``y``: an item's factors, the first ``f`` values of the row given);
    ``False``, with the state untouched, when the step would be ill-conditioned (the caller
    re-solves)::

        u = A^-1 y,  den = 1 + da y.u,  x += u (db - da y.x) / den,  A^-1 -= da/den u u^T
    """
    f = state.shape[1]
    u = np.empty(f + 1)  # A^-1 y, then y.x: one pass over the state's rows
    for r in range(f + 1):
        acc = 0.0
        for c in range(f):
            acc += state[r, c] * y[c]
        u[r] = acc
    if da == 0.0:
        for c in range(f):
            state[f, c] += db * u[c]
        return True
    s = 0.0
    for c in range(f):
        s += u[c] * y[c]
    den = 1.0 + da * s
    if not den > 1e-8:  # near-singular downdate: too much cancellation
        return False
    coef = (db - da * u[f]) / den
    k = da / den
    for r in range(f):
        kr = k * u[r]
        for c in range(f):
            state[r, c] -= kr * u[c]
    for c in range(f):
        state[f, c] += coef * u[c]
    return True


@njit(
    types.boolean(_STATE, _ITEM_ROW, types.float64, types.float64, types.float64),
    cache=True,
    nogil=True,
    fastmath=_FAST,
)
def _cell_step(state: np.ndarray, y: np.ndarray, alpha: float, w_old: float, w_new: float) -> bool:
    """The step of one cell's weight going from ``w_old`` to ``w_new`` (0 = absent): a present
    cell with confidence ``c = alpha w`` contributes ``(c - 1) y y^T`` to ``A`` and ``c y`` to
    ``b``, an absent one nothing."""
    da = db = 0.0
    if w_new > 0:
        db = alpha * w_new
        da = db - 1.0
    if w_old > 0:
        db -= alpha * w_old
        da -= alpha * w_old - 1.0
    return _rank1_step(state, y, da, db)


@njit(
    types.int64(_ROW_IDX, _ROW_W, _ROW_IDX, _ROW_W, _STATE, _ITEM_ROWS, types.float64),
    cache=True,
    nogil=True,
    fastmath=_FAST,
)
def _one_cell_step(
    old_idx: np.ndarray,
    old_w: np.ndarray,
    new_idx: np.ndarray,
    new_w: np.ndarray,
    state: np.ndarray,
    y: np.ndarray,
    alpha: float,
) -> int:
    """Compare a customer's new row with the one their state reflects and, when exactly one
    cell differs (a new item, a changed weight, an item gone), take its rank-1 step.

    Returns ``STEPPED``; ``SAME_ROW``; ``NOT_ONE_CELL`` (several cells differ, or the step
    would be ill-conditioned); ``NOT_FINALIZED`` (the new row is not sorted and unique with
    positive weights). Only ``STEPPED`` changes the state (see :func:`_cell_step`).
    """
    ko, kn = old_idx.shape[0], new_idx.shape[0]
    i = j = 0
    prev = -1
    found = False
    item, w_old, w_new = -1, 0.0, 0.0
    while i < ko or j < kn:
        if j < kn and (new_idx[j] <= prev or not new_w[j] > 0):
            return NOT_FINALIZED
        if j >= kn or (i < ko and old_idx[i] < new_idx[j]):  # a cell gone
            cell, was, now = old_idx[i], old_w[i], 0.0
            i += 1
        elif i >= ko or new_idx[j] < old_idx[i]:  # a new cell
            cell, was, now = new_idx[j], 0.0, new_w[j]
            prev = cell
            j += 1
        else:  # the same item in both rows
            prev = new_idx[j]
            if old_w[i] == new_w[j]:
                i += 1
                j += 1
                continue
            cell, was, now = new_idx[j], old_w[i], new_w[j]
            i += 1
            j += 1
        if found:
            return NOT_ONE_CELL
        found = True
        item, w_old, w_new = cell, was, now
    if not found:
        return SAME_ROW
    return STEPPED if _cell_step(state, y[item], alpha, w_old, w_new) else NOT_ONE_CELL


# ---------------------------------------------------------------------------------- the cache
class _Entry:
    """One customer's cached state: the row (as bytes, compared on every call), ``x``, and once
    the customer had an update ``state = [A^-1; x]`` (``(f + 1) x f``, both triangles of
    ``A^-1``; ``x`` is then a view of its last row)."""

    __slots__ = ("idx_key", "state", "steps", "w_key", "x")

    def __init__(self, idx_key: bytes, w_key: bytes, x: np.ndarray) -> None:
        self.idx_key = idx_key
        self.w_key = w_key
        self.x = x
        self.state: np.ndarray | None = None
        self.steps = 0


class IncrementalFoldIn:
    """Per-worker LRU cache of customer vectors, updated by Sherman-Morrison steps.

    Parameters
    ----------
    scorer
        The scorer of a loaded factor model (``FactorScorer.vector_cache`` makes one); the
        cache belongs to that loaded version (a new version gets a new cache).
    capacity
        Customers kept (least recently used evicted).
    max_bytes
        Budget of the cached ``A^-1`` matrices (``8 f^2`` bytes each): ``max_inverses`` of them
        are kept, least recently updated dropped first.
    max_changes
        Changed cells handled incrementally; a bigger diff (stale cache) re-solves from the row.
    refresh_every
        Incremental steps before a customer's state is re-solved from its row (bounds drift;
        see the module docstring for the measured drift).

    Examples
    --------
    ``vector(key, row.idx, row.weights)`` after every event or request, ``forget(key)`` on
    erasure; see the module docstring.
    """

    def __init__(
        self,
        scorer: FactorScorer,
        capacity: int = 100_000,
        *,
        max_bytes: int = 256 * 2**20,
        max_changes: int = 8,
        refresh_every: int = 256,
    ) -> None:
        self.scorer = scorer
        f = scorer.factors
        self.factors = f
        if capacity < 1:
            raise ValueError("capacity must be >= 1")
        self.capacity = int(capacity)
        self.max_inverses = max(1, int(max_bytes) // (8 * f * f))
        self.max_changes = int(max_changes)
        self.refresh_every = int(refresh_every)
        self._alpha = float(scorer.alpha)
        self._n_model = scorer.n_model_items
        self._gram = scorer.gram
        self._gram_inv = scorer.gram_inv
        self._yz = scorer.yz
        self._woodbury_max = scorer.woodbury_max
        self._y64 = scorer.y64
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._inverses: OrderedDict[Hashable, None] = OrderedDict()  # keys holding A^-1, LRU
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
        ``scorer.fold_in(hist_idx, hist_w)``.
        """
        # contiguous, as the compiled kernel takes them (a no-op for finalized rows)
        idx = np.ascontiguousarray(hist_idx, dtype=np.int32)
        w = np.ascontiguousarray(hist_w, dtype=np.float32)
        k = len(idx)
        if k and idx.item(k - 1) >= self._n_model:
            keep = idx < self._n_model
            idx, w = idx[keep], w[keep]
        ik, wk = idx.tobytes(), w.tobytes()
        with self._lock:
            e = self._entries.get(key)
            if e is None:
                return self._miss(key, idx, w).copy()
            self._entries.move_to_end(key)
            if ik == e.idx_key and wk == e.w_key:
                self.stats["hits"] += 1
                return e.x.copy()
            # The usual event changes one cell: one kernel call finds it and takes the step.
            # Anything else (several cells, no A^-1 yet, a refresh due) goes through _general.
            if e.state is not None and e.steps < self.refresh_every:
                done = _one_cell_step(
                    np.frombuffer(e.idx_key, np.int32),
                    np.frombuffer(e.w_key, np.float32),
                    idx,
                    w,
                    e.state,
                    self._yz,
                    self._alpha,
                )
                if done == STEPPED:
                    self.stats["updates"] += 1
                    self._inverses.move_to_end(key)
                    e.steps += 1
                    e.idx_key, e.w_key = ik, wk
                    return e.x.copy()
            return self._general(key, e, idx, w).copy()

    def forget(self, key: Hashable) -> None:
        """Drop one customer (erasure); a no-op when it is not cached."""
        with self._lock:
            self._entries.pop(key, None)
            self._inverses.pop(key, None)

    # ------------------------------------------------------------------ internals
    def _general(self, key: Hashable, e: _Entry, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Any other change: diff the rows, a step per changed cell, or a full solve when there
        is no ``A^-1`` yet, too many cells changed, a refresh is due or the row needs fixing."""
        cells = self._diff(e, idx, w)
        if cells is None:  # not a finalized row: canonicalise, then re-solve
            idx, w = _canonical(idx, w)
        elif (
            e.state is not None
            and len(cells) <= self.max_changes
            and e.steps + len(cells) <= self.refresh_every
        ):
            for j, old, new in cells:
                if not _cell_step(e.state, self._yz[j], self._alpha, old, new):
                    return self._solve(key, e, idx, w)
            self.stats["updates"] += 1
            self._inverses.move_to_end(key)
            e.steps += len(cells)
            e.idx_key, e.w_key = idx.tobytes(), w.tobytes()
            return e.x
        return self._solve(key, e, idx, w)

    def _miss(self, key: Hashable, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
        """First sight of a customer: the model's fold-in; ``A^-1`` waits for a first update."""
        self.stats["misses"] += 1
        if (len(idx) > 1 and not (idx[1:] > idx[:-1]).all()) or not (w > 0).all():
            idx, w = _canonical(idx, w)
        x = np.asarray(self.scorer.fold_in(idx, w), dtype=np.float64)
        self._entries[key] = _Entry(idx.tobytes(), w.tobytes(), x)
        while len(self._entries) > self.capacity:
            self._inverses.pop(self._entries.popitem(last=False)[0], None)
        return x

    def _solve(self, key: Hashable, e: _Entry, idx: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Full solve from the row: the state ``[A^-1; x]``. Short rows (k <= f/2, as in
        ``FactorScorer.fold_in``) use Woodbury against the
        ``G^-1`` cached at load, O(k f^2), ``A^-1 = G^-1 - Z^T D (I + K D)^-1 Z`` with ``Z = Y_h
        G^-1``, ``K = Y_h Z^T``, ``D = diag(c - 1)``; longer rows a Cholesky inverse, O(f^3)."""
        self.stats["solves"] += 1
        k = len(idx)
        c = w.astype(np.float64) * self._alpha
        if k == 0:
            ainv = self._gram_inv
            b = np.zeros(self.factors)
        elif k <= self._woodbury_max:
            yz = self._yz[idx]
            yh, zh = yz[:, : self.factors], yz[:, self.factors :]
            d = c - 1.0
            m = yh @ zh.T
            m *= d
            m.flat[:: k + 1] += 1.0
            t, info = dgesv(m, zh, overwrite_a=1, overwrite_b=0)[2:]
            if info != 0:
                raise np.linalg.LinAlgError(f"fold-in Woodbury system is singular ({info})")
            ainv = self._gram_inv - (zh.T * d) @ t
            b = yh.T @ c
        else:
            yh = self._y64[idx]
            a = self._gram + (yh.T * (c - 1.0)) @ yh
            chol, info = dpotrf(a, lower=0, clean=0, overwrite_a=1)
            if info == 0:
                ainv, info = dpotri(chol, lower=0, overwrite_c=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"fold-in matrix is not positive definite ({info})")
            upper = np.triu(ainv)
            ainv = upper + np.triu(upper, 1).T
            b = yh.T @ c
        state = np.empty((self.factors + 1, self.factors))
        state[: self.factors] = ainv
        np.dot(ainv, b, out=state[self.factors])
        e.state, e.x = state, state[self.factors]
        e.steps = 0
        e.idx_key, e.w_key = idx.tobytes(), w.tobytes()
        self._inverses[key] = None
        self._inverses.move_to_end(key)
        while len(self._inverses) > self.max_inverses:
            dropped = self._entries.get(self._inverses.popitem(last=False)[0])
            if dropped is not None and dropped.state is not None:
                dropped.x, dropped.state = dropped.state[self.factors].copy(), None
        return e.x

    def _diff(
        self, e: _Entry, idx: np.ndarray, w: np.ndarray
    ) -> list[tuple[int, float, float]] | None:
        """``(item, old weight, new weight)`` of every cell that differs (0 = absent), or
        ``None`` when ``idx`` is not sorted and unique or a weight is not positive."""
        k = len(idx)
        if (k > 1 and not (idx[1:] > idx[:-1]).all()) or not (w > 0).all():
            return None
        old_idx = np.frombuffer(e.idx_key, dtype=np.int32)
        old_w = np.frombuffer(e.w_key, dtype=np.float32)
        k_old = len(old_idx)
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


def _canonical(idx: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort by index, sum duplicate cells and drop cells <= 0 (rows should arrive finalized;
    this is the guard for those that do not)."""
    uniq, inv = np.unique(idx, return_inverse=True)
    sums = np.bincount(inv, weights=w).astype(np.float32)
    keep = sums > 0
    return uniq[keep].astype(np.int32), sums[keep]
