"""The small interface every recommender family implements.

A model is fitted on a customer x item matrix but never needs the trained customers again: it
scores *history rows* (any customer's weighted items, trained or not). That keeps serving,
evaluation and erasure simple: forget the row and the model forgets the customer.

Examples
--------
>>> import scipy.sparse as sp
>>> from recommender.models import Popularity
>>> X = sp.csr_matrix([[1.0, 0, 1], [1.0, 0, 0]])
>>> ids, scores = Popularity().fit(X).recommend(X[1], N=1)
>>> ids.tolist()
[[2]]
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from core.errors import NotFittedError

#: Score cells a batch of :meth:`Recommender.recommend` holds at once: the dense scores, their
#: negation and ``argpartition``'s int64 indices make about 16 bytes a cell (256 MiB here).
SCORE_CELLS = 1 << 24


def rows_per_batch(n_items: int, most: int = 2048) -> int:
    """History rows to score per call so that a batch holds about :data:`SCORE_CELLS` cells
    (at most ``most``): 2,048 rows at 8,192 items, 209 at 80,000.

    >>> rows_per_batch(1682), rows_per_batch(80_000)
    (2048, 209)
    """
    return max(1, min(most, SCORE_CELLS // max(1, n_items)))


def topk_rows(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the ``n`` highest scores in descending order (``-inf`` entries come last)."""
    n = min(n, scores.shape[1])
    if n <= 0:
        empty = np.empty((scores.shape[0], 0))
        return empty.astype(np.int32), empty.astype(np.float32)
    if n < scores.shape[1]:
        part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    else:
        part = np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    top = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    return (
        np.take_along_axis(part, order, axis=1).astype(np.int32),
        np.take_along_axis(top, order, axis=1).astype(np.float32),
    )


_KINDS = {"f": "float32 or float64", "i": "an integer dtype"}


def expect_array(name: str, arr: np.ndarray, shape: tuple[int | None, ...], kind: str) -> list[str]:
    """Problems of one saved array against an expected ``shape`` (``None``: any length) and
    dtype ``kind`` (``"f"`` float32/float64, ``"i"`` a signed or unsigned integer)."""
    problems = []
    if len(arr.shape) != len(shape) or any(
        want is not None and got != want for got, want in zip(arr.shape, shape, strict=False)
    ):
        want_text = " x ".join("?" if d is None else str(d) for d in shape)
        problems.append(f"{name} has shape {arr.shape}, expected ({want_text})")
    ok = (
        arr.dtype in (np.float32, np.float64)
        if kind == "f"
        else np.issubdtype(arr.dtype, np.integer)
    )
    if not ok:
        problems.append(f"{name} has dtype {arr.dtype}, expected {_KINDS[kind]}")
    return problems


def as_csr(user_rows: Any, n_items: int) -> sp.csr_matrix:
    rows = sp.csr_matrix(user_rows, dtype=np.float32)
    if rows.shape[1] != n_items:
        raise ValueError(f"rows have {rows.shape[1]} columns, the model has {n_items} items")
    return rows


class Recommender(ABC):
    """Base class: ``fit`` on a user x item CSR matrix, then score history rows in batches.

    Subclasses implement ``fit``, ``score``, ``similarity_scores`` and declare their learned
    arrays in ``array_names`` (checked by ``check_arrays`` before a saved model is loaded) so
    that ``save``/``load`` work without pickle.
    """

    family: ClassVar[str] = ""
    array_names: ClassVar[tuple[str, ...]] = ()

    n_items_: int

    # --- to implement -------------------------------------------------------------------------
    @abstractmethod
    def fit(self, user_items: sp.csr_matrix) -> Recommender:
        """Learn from a customer x item weight matrix; returns ``self``."""

    @abstractmethod
    def score(self, user_rows: sp.csr_matrix) -> np.ndarray:
        """Dense (n_rows x n_items) float32 scores of history rows (higher = better)."""

    @abstractmethod
    def similarity_scores(self, item_ids: np.ndarray) -> np.ndarray:
        """Dense (len(item_ids) x n_items) item-to-item similarity."""

    @classmethod
    @abstractmethod
    def check_arrays(cls, arrays: Mapping[str, np.ndarray], n_items: int) -> list[str]:
        """What is wrong with saved learned arrays (``array_names`` -> array) for a model of
        ``n_items`` items: shapes, dtypes, structure; empty when they can be loaded and served.
        Values are checked for finiteness by the caller, so only structure is checked here."""

    # --- shared behaviour --------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted")

    def recommend(
        self,
        user_rows: sp.csr_matrix,
        N: int = 10,
        filter_items: np.ndarray | None = None,
        filter_already_liked_items: bool = True,
        filter_rows: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``N`` item indices and scores for each history row, shapes ``(n_rows, N)``.

        Items in the row (already liked), ``filter_items`` and each row's non-zeros of
        ``filter_rows`` (what that customer already has, by the tenant's policy) are never
        returned; when fewer than ``N`` items remain, the tail holds ``-inf`` scores.
        """
        self._check_fitted()
        rows = as_csr(user_rows, self.n_items_)
        scores = self.score(rows).astype(np.float32, copy=False)
        if filter_already_liked_items:
            r, c = rows.nonzero()
            scores[r, c] = -np.inf
        if filter_rows is not None:
            r, c = sp.csr_matrix(filter_rows).nonzero()
            scores[r, c] = -np.inf
        if filter_items is not None and len(filter_items):
            scores[:, np.asarray(filter_items)] = -np.inf
        return topk_rows(scores, N)

    def similar_items(
        self, item_ids: np.ndarray | list[int], N: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``N`` most similar other items to each given item index, shapes ``(len, N)``."""
        self._check_fitted()
        ids = np.atleast_1d(np.asarray(item_ids, dtype=np.int64))
        sims = self.similarity_scores(ids).astype(np.float32, copy=True)
        sims[np.arange(len(ids)), ids] = -np.inf
        return topk_rows(sims, N)

    # --- persistence -------------------------------------------------------------------------
    def _extra_meta(self) -> dict[str, Any]:
        return {}

    def save(self, folder: str | Path) -> None:
        """Write the learned arrays as ``<name>.npy`` and ``model.json`` (family + params)."""
        self._check_fitted()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.array_names:
            np.save(
                folder / f"{name}.npy",
                np.ascontiguousarray(getattr(self, name)),
                allow_pickle=False,
            )
        meta = {
            "family": self.family,
            "params": self.get_params(),
            "n_items": self.n_items_,
            **self._extra_meta(),
        }
        (folder / "model.json").write_text(json.dumps(meta, indent=2, sort_keys=True))

    @classmethod
    def load(cls, folder: str | Path, mmap: bool = True) -> Recommender:
        """Read a model written by :meth:`save`; arrays are memory-mapped by default."""
        folder = Path(folder)
        meta = json.loads((folder / "model.json").read_text())
        from recommender.models import FAMILIES

        klass = FAMILIES[meta["family"]] if cls is Recommender else cls
        if klass.family != meta["family"]:
            raise ValueError(f"{folder} holds a {meta['family']} model, not {klass.family}")
        model = klass(**meta["params"])
        for name in klass.array_names:
            arr = np.load(
                folder / f"{name}.npy", mmap_mode="r" if mmap else None, allow_pickle=False
            )
            setattr(model, name, arr)
        model.n_items_ = int(meta["n_items"])
        model._after_load(meta)
        return model

    def _after_load(self, meta: dict[str, Any]) -> None:
        """Hook to rebuild derived state from loaded arrays (none by default)."""
        return None
