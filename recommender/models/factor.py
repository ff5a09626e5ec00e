"""Matrix-factorisation families (implicit's ALS and BPR) scored by folding history rows in.

Only the item factors are kept. A history row ``r`` becomes a customer vector with the ALS user
half-step against the items, in implicit's confidence convention (``c = alpha * r``)::

    (YtY + reg I + sum_i (c_i - 1) y_i y_i^T) x = sum_{c_i > 0} c_i y_i

For ALS this is exactly the solve that produced the trained user factors, so a trained customer's
fold-in equals the trained vector. For BPR it is a documented least-squares fold-in (BPR has no
closed-form user step): the vector that best reproduces "1 for the history, 0 elsewhere" under
BPR's item factors, with ``alpha=1`` and ``foldin_regularization``.

Examples
--------
>>> import scipy.sparse as sp
>>> X = sp.random(40, 30, density=0.2, format="csr", random_state=0, dtype="float32")
>>> model = ALS(factors=4, iterations=3, random_state=0).fit(X)
>>> model.recommend(X[:2], N=3)[0].shape
(2, 3)
"""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.models.base import Recommender, expect_array


def _implicit_least_squares(
    yty: np.ndarray, rows: sp.csr_matrix, item_factors: np.ndarray, regularization: float
) -> np.ndarray:
    """Batch fold-in with implicit's compiled Cholesky solver (used for offline batches)."""
    from implicit.cpu import _als

    out = np.zeros((rows.shape[0], item_factors.shape[1]), dtype=np.float32)
    _als._least_squares(
        np.ascontiguousarray(yty, dtype=np.float32),
        rows.indptr.astype(np.int32),
        rows.indices.astype(np.int32),
        rows.data.astype(np.float32),
        out,
        np.ascontiguousarray(item_factors, dtype=np.float32),
        float(regularization),
        num_threads=0,
    )
    return out


class FactorModel(Recommender):
    """Shared scoring of factor models; subclasses set ``item_factors_`` in ``fit``."""

    array_names: ClassVar[tuple[str, ...]] = ("item_factors_",)
    item_factors_: np.ndarray

    @abstractmethod
    def foldin_params(self) -> tuple[float, float]:
        """``(alpha, regularization)`` of the fold-in solve (see the module docstring)."""

    @classmethod
    def check_arrays(cls, arrays: Mapping[str, np.ndarray], n_items: int) -> list[str]:
        y = arrays["item_factors_"]
        problems = expect_array("item_factors_", y, (n_items, None), "f")
        if not problems and y.shape[1] == 0:
            problems.append("item_factors_ has no factor columns")
        return problems

    def user_factors_for(self, user_rows: sp.csr_matrix) -> np.ndarray:
        """Fold history rows in: one ALS user half-step per row (float32, n_rows x factors)."""
        self._check_fitted()
        alpha, reg = self.foldin_params()
        rows = sp.csr_matrix(user_rows, dtype=np.float32)
        if alpha != 1.0:
            rows = rows * np.float32(alpha)
        y = np.asarray(self.item_factors_, dtype=np.float32)
        if not y.flags.writeable:  # implicit's compiled solver refuses read-only (mmap) buffers
            y = y.copy()
        return _implicit_least_squares(y.T @ y, rows, y, reg)

    def score(self, user_rows: sp.csr_matrix) -> np.ndarray:
        return self.user_factors_for(user_rows) @ np.asarray(self.item_factors_).T

    def similarity_scores(self, item_ids: np.ndarray) -> np.ndarray:
        y = np.asarray(self.item_factors_)
        norms = np.linalg.norm(y, axis=1)
        norms[norms == 0] = 1.0
        return (y[item_ids] @ y.T) / np.outer(norms[item_ids], norms)


def _use_gpu(flag: bool | str) -> bool:
    import implicit.gpu

    has = bool(implicit.gpu.HAS_CUDA)
    if flag == "auto":
        return has
    if flag and not has:
        warnings.warn(
            "use_gpu=True but implicit has no CUDA support here; using the CPU",
            RuntimeWarning,
            stacklevel=3,
        )
    return bool(flag) and has


class ALS(FactorModel):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through ``implicit``.

    Parameters
    ----------
    factors, regularization, alpha, iterations
        As in ``implicit.als.AlternatingLeastSquares`` (confidence ``c = alpha * weight``).
    use_gpu
        ``"auto"`` trains on CUDA when implicit was built with it.
    random_state
        Seed of the factor initialisation.
    """

    family: ClassVar[str] = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 2.0,
        iterations: int = 15,
        use_gpu: bool | str = "auto",
        random_state: int | None = 42,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use_gpu = use_gpu
        self.random_state = random_state

    def foldin_params(self) -> tuple[float, float]:
        return float(self.alpha), float(self.regularization)

    def fit(self, user_items: sp.csr_matrix, show_progress: bool = False) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares

        kwargs: dict[str, Any] = dict(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.random_state,
        )
        x = sp.csr_matrix(user_items, dtype=np.float32)
        if _use_gpu(self.use_gpu):
            from implicit.gpu.als import AlternatingLeastSquares as GpuALS

            gpu = GpuALS(**kwargs)
            gpu.fit(x, show_progress=show_progress)
            self.item_factors_ = np.asarray(gpu.to_cpu().item_factors, dtype=np.float32)
        else:
            # implicit parallelises itself; a threaded BLAS underneath only oversubscribes
            with threadpool_limits(1, "blas"):
                model = AlternatingLeastSquares(**kwargs)
                model.fit(x, show_progress=show_progress)
            self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        self.n_items_ = x.shape[1]
        return self


class BPR(FactorModel):
    """Bayesian Personalised Ranking through ``implicit`` (item factors carry a bias column).

    ``foldin_regularization`` regularises the least-squares fold-in of history rows;
    ``num_threads=1`` makes training deterministic (implicit's parallel SGD is not).
    """

    family: ClassVar[str] = "bpr"

    def __init__(
        self,
        factors: int = 64,
        learning_rate: float = 0.05,
        regularization: float = 0.01,
        iterations: int = 100,
        foldin_regularization: float = 0.1,
        use_gpu: bool | str = "auto",
        random_state: int | None = 42,
        num_threads: int = 0,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.foldin_regularization = foldin_regularization
        self.use_gpu = use_gpu
        self.random_state = random_state
        self.num_threads = num_threads

    def foldin_params(self) -> tuple[float, float]:
        return 1.0, float(self.foldin_regularization)

    def fit(self, user_items: sp.csr_matrix, show_progress: bool = False) -> BPR:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        kwargs: dict[str, Any] = dict(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.random_state,
        )
        x = sp.csr_matrix(user_items, dtype=np.float32)
        if _use_gpu(self.use_gpu):
            from implicit.gpu.bpr import BayesianPersonalizedRanking as GpuBPR

            gpu = GpuBPR(**kwargs)
            gpu.fit(x, show_progress=show_progress)
            self.item_factors_ = np.asarray(gpu.to_cpu().item_factors, dtype=np.float32)
        else:
            with threadpool_limits(1, "blas"):
                model = BayesianPersonalizedRanking(**kwargs, num_threads=self.num_threads)
                model.fit(x, show_progress=show_progress)
            self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        self.n_items_ = x.shape[1]
        return self
