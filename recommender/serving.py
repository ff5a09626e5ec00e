"""One loaded model version answering recommendations from history rows.

:meth:`LoadedModel.load` validates the version folder (:mod:`recommender.validation`: a bad
file is refused, never loaded), then computes everything that does not depend on the request:
memory-mapped arrays, the family's :class:`~recommender.scoring.Scorer` (chosen once, here),
category and availability masks, popularity order, attribute proxies for new items. A request
then costs one small solve (factor models) or one history-row product (EASE / item-kNN), one
pass over the scores and a top-k.

The customer's state is the history row (:class:`recommender.interactions.CustomerHistory`) that
the store keeps: a new purchase, cart or view changes it and therefore the very next answer, in
every worker, with no user factors to keep in sync or to erase. Factor models may keep a
per-worker cache of customer vectors (``scorer.vector_cache()``, a
:class:`recommender.foldin.IncrementalFoldIn`), updated per event by a rank-1 step and always
checked against that row, so it is never a second source of truth.

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
import scipy.sparse as sp

from recommender.attributes import AttributeIndex
from recommender.models import Recommender
from recommender.policy import INTERACTED, reason_type
from recommender.scoring import Scorer, scorer_for
from recommender.selection import ItemMask, top_n
from recommender.validation import validate_version


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


def _entry(e: Any) -> dict[str, Any]:
    if isinstance(e, Mapping):
        return dict(e)
    return {k: getattr(e, k, None) for k in ("item_id", "category", "attributes", "available")}


def _no_reasons(idx: np.ndarray) -> list[list[dict[str, Any]]]:
    return [[] for _ in range(len(idx))]


class LoadedModel:
    """A model version ready to serve (build with :meth:`load`).

    Attributes
    ----------
    version, meta
        The version's name and its ``meta.json``.
    item_ids, item_index
        Served items (model items first, then new catalog items) and their positions.
    scorer
        The family's scorer over the served items.
    mask
        Availability and categories of the served items.
    warnings
        What validation accepted but an operator should know (e.g. no checksums recorded).
    """

    version: str
    meta: dict[str, Any]
    item_ids: np.ndarray
    item_index: dict[str, int]
    n_model_items: int
    n_items: int
    scorer: Scorer
    mask: ItemMask
    warnings: list[str]
    _popularity: np.ndarray
    _segments: dict[str, np.ndarray]
    _attributes: AttributeIndex | None
    _proxies: sp.csr_matrix | None

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
        """Validate a version folder, load it and precompute everything requests need.

        Raises :class:`recommender.validation.InvalidVersion` (and loads nothing) when the
        folder fails validation.

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
        checked = validate_version(folder)
        if pin_threads:
            pin_blas_threads(1)
        self = cls()
        folder = checked.folder
        self.meta = checked.meta
        self.warnings = checked.warnings
        self.version = str(self.meta.get("version", folder.name))
        model = Recommender.load(folder, mmap=mmap)
        model_ids = np.load(folder / "item_ids.npy", allow_pickle=False)
        self.n_model_items = len(model_ids)
        entries = [_entry(e) for e in (catalog or [])]
        by_pos = self._index_items(model_ids, entries)
        # cold-start items: attribute proxies among trained items
        self._attributes = AttributeIndex.build(by_pos) if entries else None
        self._proxies = None
        if self._attributes is not None and self.n_items > self.n_model_items:
            self._proxies = self._attributes.proxies(
                np.arange(self.n_model_items, self.n_items),
                np.arange(self.n_model_items),
                proxies_per_new_item,
            )
        self.scorer = scorer_for(model, self._proxies)
        self._load_popularity(folder)
        return self

    def _index_items(
        self, model_ids: np.ndarray, entries: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Served item ids, positions and masks; returns the catalog entry of each position."""
        known = {str(i): k for k, i in enumerate(model_ids.tolist())}
        new_entries = [e for e in entries if str(e["item_id"]) not in known]
        self.item_ids = (
            np.array(model_ids.tolist() + [str(e["item_id"]) for e in new_entries])
            if new_entries
            else model_ids
        )
        self.item_index = {k: i for i, k in enumerate(self.item_ids.tolist())}
        self.n_items = len(self.item_ids)
        by_pos: list[dict[str, Any]] = [{"item_id": str(i)} for i in self.item_ids.tolist()]
        for e in entries:
            by_pos[self.item_index[str(e["item_id"])]] = e
        self.mask = ItemMask([str(e["category"]) if e.get("category") else None for e in by_pos])
        self.mask.set_available(
            (
                self.item_index[str(e["item_id"])]
                for e in entries
                if e.get("available") is False or e.get("deleted")
            ),
            False,
        )
        return by_pos

    def _load_popularity(self, folder: Path) -> None:
        """Global and per-segment popularity of the served items (from the training data; new
        items inherit a share of their proxies' popularity)."""
        n, n_model = self.n_items, self.n_model_items
        self._popularity = np.zeros(n, dtype=np.float32)
        pop_file = folder / "popularity.npy"
        own = self.scorer.popularity()
        if pop_file.exists():
            self._popularity[:n_model] = np.load(pop_file, allow_pickle=False)
        elif own is not None:
            self._popularity[:n_model] = own
        if self._proxies is not None:
            self._popularity[n_model:] = self._proxies @ self._popularity[:n_model] * 0.5
        self._segments = {}
        if (folder / "segment_names.npy").exists():
            names = np.load(folder / "segment_names.npy", allow_pickle=False)
            pops = np.load(folder / "segment_popularity.npy", allow_pickle=False)
            for s, row in zip(names.tolist(), pops, strict=True):
                full = np.zeros(n, dtype=np.float32)
                full[:n_model] = row
                self._segments[str(s)] = full

    # ------------------------------------------------------------------ availability
    def set_available(self, item_ids: Iterable[str], available: bool) -> None:
        """Mark items (un)available or deleted at runtime (e.g. after ``DELETE /items``)."""
        positions = [self.item_index[str(i)] for i in item_ids if str(i) in self.item_index]
        self.mask.set_available(positions, available)

    def allowed(self, idx: np.ndarray, category: str | None = None) -> np.ndarray:
        """Boolean mask: which of ``idx`` are available now (and in ``category`` when given)."""
        return self.mask.allowed(idx, category)

    # ------------------------------------------------------------------ answers
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
        idx, sc = top_n(scores, n, self.mask.penalty(category), [exclude_idx, purchased_idx])
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
        hist_kinds: np.ndarray | None = None,
    ) -> Recommendation:
        """Personalised top-``n`` for one history row (``CustomerHistory.idx/.weights``).

        Never returns an item of ``purchased_idx`` (what the customer already has by the
        tenant's policy, ``CustomerHistory.excluded``; unless ``allow_repurchase``), an
        unavailable/deleted or excluded item, an item outside ``category``, or an item twice.
        ``hist_kinds`` (``CustomerHistory.kinds``) lets reasons name the interaction each
        history item comes from; without it they say ``because_you_interacted``. An empty history (unknown
        customer) gets :meth:`popular` for its ``segment`` with ``fallback="popular"``.
        ``user_vector`` (factor models only) is this row's customer vector when the caller
        already has it, e.g. from ``scorer.vector_cache()``; it replaces the fold-in and must
        belong to this row (other families ignore it).
        """
        hist_idx = np.asarray(hist_idx, dtype=np.int64)
        hist_w = np.asarray(hist_w, dtype=np.float32)
        in_model = hist_idx < self.n_model_items
        hist_idx, hist_w = hist_idx[in_model], hist_w[in_model]
        if hist_kinds is not None:
            hist_kinds = np.asarray(hist_kinds, dtype=np.int64)[in_model]
        purchased = None if allow_repurchase else purchased_idx
        if len(hist_idx) == 0 or not self.scorer.personalised:
            rec = self.popular(
                n,
                segment=segment,
                category=category,
                exclude_idx=exclude_idx,
                purchased_idx=purchased,
            )
            return rec if len(hist_idx) == 0 else rec._replace(fallback=None)
        idx, sc = self.scorer.top(
            hist_idx, hist_w, n, self.mask, category, [exclude_idx, purchased], user_vector
        )
        reasons = self._explain(hist_idx, hist_w, idx, hist_kinds) if explain else _no_reasons(idx)
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
        if item_idx >= self.n_model_items or not self.scorer.personalised:
            assert self._attributes is not None or item_idx < self.n_model_items
            if self._attributes is None:
                return self.popular(n, category=category, exclude_idx=np.array([item_idx]))
            scores = self._attributes.similar_to(item_idx, np.arange(self.n_items))
            scores = scores.astype(np.float32)
            reason = "similar_attributes"
        else:
            scores = self.scorer.similarity(item_idx)
            reason = "similar"
        ex = np.array([item_idx])
        idx, sc = top_n(scores, n, self.mask.penalty(category), [ex, exclude_idx])
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
        returns, e.g. from ``scorer.vector_cache()`` kept under a basket key; it replaces the
        fold-in."""
        basket = np.unique(np.asarray(basket_idx, dtype=np.int64))
        keys, vals = self.basket_row(basket, hist_idx, hist_w, basket_weight)
        purchased = None if allow_repurchase else purchased_idx
        if not len(keys) or not self.scorer.personalised:
            rec = self.popular(
                n,
                category=category,
                exclude_idx=np.concatenate(
                    [basket, np.asarray(exclude_idx if exclude_idx is not None else [], np.int64)]
                ),
                purchased_idx=purchased,
            )
            return rec if not len(keys) else rec._replace(fallback=None)
        idx, sc = self.scorer.top(
            keys, vals, n, self.mask, category, [basket, exclude_idx, purchased], user_vector
        )
        reasons = _no_reasons(idx)
        if explain:
            in_basket = np.isin(keys, basket)
            if in_basket.any():
                reasons = self._explain(
                    keys[in_basket], vals[in_basket], idx, kind="bought_together"
                )
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
    def _explain(
        self,
        hist_idx: np.ndarray,
        hist_w: np.ndarray,
        rec_idx: np.ndarray,
        hist_kinds: np.ndarray | None = None,
        *,
        kind: str | None = None,
        top: int = 3,
    ) -> list[list[dict[str, Any]]]:
        """Per recommended item, the history items contributing most to its score, grouped
        by the reason each gives: ``kind`` for all, else the interaction it comes from
        (:func:`recommender.policy.reason_type` of ``hist_kinds``)."""
        rec_model = np.where(rec_idx < self.n_model_items, rec_idx, 0)
        contrib = self.scorer.contributions(hist_idx, hist_w, rec_model)
        kinds = hist_kinds.tolist() if hist_kinds is not None else None
        out: list[list[dict[str, Any]]] = []
        for col, item in enumerate(rec_idx.tolist()):
            if item >= self.n_model_items:
                out.append([{"type": "similar_attributes"}])
                continue
            order = np.argsort(-contrib[:, col], kind="stable")[:top]
            groups: dict[str, list[str]] = {}
            for j in order.tolist():
                if contrib[j, col] <= 0:
                    continue
                reason = kind or (reason_type(kinds[j]) if kinds is not None else INTERACTED)
                groups.setdefault(reason, []).append(str(self.item_ids[hist_idx[j]]))
            reasons = [{"type": t, "item_ids": ids} for t, ids in groups.items()]
            out.append(reasons or [{"type": "profile"}])
        return out
