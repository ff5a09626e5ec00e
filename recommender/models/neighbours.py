"""Item-based families: implicit's item-kNN (BM25 / cosine / TF-IDF), EASE and DLAE / EDLAE.

Both score a history row as ``row @ B`` with an item x item matrix ``B``: sparse top-K
similarities for item-kNN, the dense closed-form EASE weights (Steck 2019) otherwise. The
contribution ``row_i * B[i, j]`` is also the explanation ("because you bought i").

Examples
--------
>>> import scipy.sparse as sp
>>> X = sp.csr_matrix([[1.0, 1, 0], [1.0, 1, 0], [0, 0, 1.0]])
>>> EASE(l2=1.0).fit(X).recommend(sp.csr_matrix([[1.0, 0, 0]]), N=1)[0].tolist()
[[1]]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack

from recommender.models.base import Recommender, expect_array

_KNN_KINDS = ("bm25", "cosine", "tfidf")


class ItemKNN(Recommender):
    """Item-item nearest neighbours through ``implicit.nearest_neighbours``.

    Parameters
    ----------
    kind
        ``"bm25"`` (with ``K1``, ``B``), ``"cosine"`` or ``"tfidf"`` item similarity.
    K
        Neighbours kept per item.
    """

    family: ClassVar[str] = "itemknn"
    array_names: ClassVar[tuple[str, ...]] = ("sim_data_", "sim_indices_", "sim_indptr_")

    def __init__(self, kind: str = "bm25", K: int = 100, K1: float = 1.2, B: float = 0.75) -> None:
        self.kind = kind
        self.K = K
        self.K1 = K1
        self.B = B

    def fit(self, user_items: sp.csr_matrix) -> ItemKNN:
        from implicit import nearest_neighbours as nn

        if self.kind not in _KNN_KINDS:
            raise ValueError(f"kind must be one of {_KNN_KINDS}, not {self.kind!r}")
        x = sp.csr_matrix(user_items, dtype=np.float32)
        model: Any
        if self.kind == "bm25":
            model = nn.BM25Recommender(K=self.K, K1=self.K1, B=self.B)
        elif self.kind == "cosine":
            model = nn.CosineRecommender(K=self.K)
        else:
            model = nn.TFIDFRecommender(K=self.K)
        with warnings.catch_warnings():
            # implicit converts its own BM25/TF-IDF weighting to COO and then warns about it
            warnings.filterwarnings("ignore", message="Method expects CSR input")
            model.fit(x, show_progress=False)
        sim = sp.csr_matrix(model.similarity, dtype=np.float32)
        sim.sort_indices()
        self.sim_data_, self.sim_indices_, self.sim_indptr_ = sim.data, sim.indices, sim.indptr
        self.n_items_ = x.shape[1]
        self._after_load({})
        return self

    @classmethod
    def check_arrays(cls, arrays: Mapping[str, np.ndarray], n_items: int) -> list[str]:
        """The CSR triplet must describe an ``n_items x n_items`` matrix: scipy trusts it, and
        an index out of range reads (or writes) outside the arrays."""
        data, indices, indptr = (arrays[n] for n in cls.array_names)
        problems = expect_array("sim_data_", data, (None,), "f")
        problems += expect_array("sim_indices_", indices, (len(data),), "i")
        problems += expect_array("sim_indptr_", indptr, (n_items + 1,), "i")
        if problems:
            return problems
        if indptr[0] != 0 or indptr[-1] != len(indices):
            problems.append(
                f"sim_indptr_ runs from {indptr[0]} to {indptr[-1]}, expected 0 to {len(indices)}"
            )
        if np.any(indptr[1:] < indptr[:-1]):
            problems.append("sim_indptr_ is not monotone")
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= n_items):
            problems.append(
                f"sim_indices_ holds indices from {int(indices.min())} to "
                f"{int(indices.max())}, outside [0, {n_items})"
            )
        return problems

    def _after_load(self, meta: dict[str, Any]) -> None:
        self.similarity_ = sp.csr_matrix(
            (self.sim_data_, self.sim_indices_, self.sim_indptr_),
            shape=(self.n_items_, self.n_items_),
        )

    def score(self, user_rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray((user_rows @ self.similarity_).toarray(), dtype=np.float32)

    def similarity_scores(self, item_ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.similarity_[item_ids].toarray(), dtype=np.float32)


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder: ``B = I - P / diag(P)``, ``P = (X^T X + l2 I)^-1``.

    Closed form with numpy; memory and time grow with items^2 and items^3, so it refuses more
    than ``max_items`` items (tens of thousands is the practical limit).

    Parameters
    ----------
    l2
        Ridge penalty on the item-item weights (the only hyperparameter that matters).
    max_items
        Safety bound on the catalogue size.
    """

    family: ClassVar[str] = "ease"
    array_names: ClassVar[tuple[str, ...]] = ("B_",)

    def __init__(self, l2: float = 500.0, max_items: int = 30000, head: int | None = None) -> None:
        self.l2 = l2
        self.max_items = max_items
        self.head = head

    def fit(self, user_items: sp.csr_matrix) -> EASE:
        x = sp.csr_matrix(user_items, dtype=np.float64)
        n = x.shape[1]
        if n > self.max_items:
            raise ValueError(f"EASE on {n} items exceeds max_items={self.max_items}")
        if n > 20000 and self.head is None:
            warnings.warn(
                f"EASE on {n} items needs {8 * n * n / 1e9:.1f} GB and minutes", stacklevel=2
            )
        self.B_ = _dense_weights(x, self.l2, 0.0, True, self.head)
        self.n_items_ = n
        return self

    @classmethod
    def check_arrays(cls, arrays: Mapping[str, np.ndarray], n_items: int) -> list[str]:
        return expect_array("B_", arrays["B_"], (n_items, n_items), "f")

    def score(self, user_rows: sp.csr_matrix) -> np.ndarray:
        return np.asarray(user_rows @ np.asarray(self.B_), dtype=np.float32)

    def similarity_scores(self, item_ids: np.ndarray) -> np.ndarray:
        return np.asarray(self.B_[item_ids], dtype=np.float32)


def item_support(user_items: sp.csr_matrix) -> np.ndarray:
    """Customers per item (non-zero cells per column), the order of the dense head."""
    x = sp.csc_matrix(user_items)
    return np.diff(x.indptr).astype(np.int64)


def head_items(user_items: sp.csr_matrix, head: int | None) -> np.ndarray:
    """Indices of the ``head`` most supported items (all items when ``head`` is None or larger),
    ties broken by index so the choice is deterministic."""
    n = user_items.shape[1]
    if head is None or head >= n:
        return np.arange(n)
    support = item_support(user_items)
    order = np.lexsort((np.arange(n), -support))
    return np.sort(order[:head])


def spd_inverse(a: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (LAPACK ``potrf`` and
    ``potri``), about three times faster than ``np.linalg.inv``'s LU at catalog sizes, in
    ``a``'s precision: float32 (what the dense families solve in, about twice as fast as
    float64) or float64 (any other dtype). ``a`` may be overwritten. A matrix that is not
    positive definite (no penalty on a singular Gram) falls back to LU.

    >>> a = np.array([[4.0, 2.0, 0.0], [2.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    >>> np.round(spd_inverse(a.copy()) @ a, 12) + 0.0
    array([[1., 0., 0.],
           [0., 1., 0.],
           [0., 0., 1.]])
    >>> spd_inverse(a.astype(np.float32)).dtype
    dtype('float32')
    """
    single = a.dtype == np.float32
    a = np.asarray(a, dtype=np.float32 if single else np.float64)
    # symmetric: a C-ordered matrix is its own Fortran-ordered transpose, no copy needed
    a = a.T if a.flags.c_contiguous and not a.flags.f_contiguous else np.asfortranarray(a)
    potrf, potri = (lapack.spotrf, lapack.spotri) if single else (lapack.dpotrf, lapack.dpotri)
    factor, info = potrf(a, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        return np.asarray(np.linalg.inv(a))
    inv, info = potri(factor, lower=1, overwrite_c=1)
    if info != 0:
        return np.asarray(np.linalg.inv(a))
    _mirror_lower(inv)
    # symmetric again: its transpose is the same matrix in C order (rows contiguous to serve)
    return np.asarray(inv.T if inv.flags.f_contiguous and not inv.flags.c_contiguous else inv)


def _mirror_lower(a: np.ndarray, block: int = 1024) -> None:
    """Copy the lower triangle of square ``a`` onto its upper one in place, a block of rows at
    a time (no second ``n x n`` copy)."""
    n = a.shape[0]
    for i0 in range(0, n, block):
        i1 = min(i0 + block, n)
        diag = a[i0:i1, i0:i1]
        diag[:] = np.tril(diag) + np.tril(diag, -1).T
        a[i0:i1, i1:] = a[i1:, i0:i1].T


def _penalised_gram(
    x: sp.csr_matrix, l2: float, dropout: float, head: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``head`` items kept, ``G + Λ`` on them and ``Λ = l2 + p/(1-p)·diag(G)``.

    float32 throughout: the weights are stored as float32, and the float64 solve gives the same
    top-10 in every slot on ML-100K and latest-small (and the same served Online Retail
    figures) at half the speed."""
    keep = head_items(x, head)
    xs = sp.csr_matrix(x[:, keep], dtype=np.float32)
    gram = (xs.T @ xs).toarray()
    lam = (l2 + dropout / (1.0 - dropout) * np.diag(gram)).astype(np.float32)
    gram[np.diag_indices(len(keep))] += lam
    return keep, gram, lam


def _dense_weights(
    x: sp.csr_matrix, l2: float, dropout: float, zero_diagonal: bool, head: int | None
) -> np.ndarray:
    """``B`` of EASE / DLAE / EDLAE on the ``head`` most supported items (zeros elsewhere)."""
    n = x.shape[1]
    keep, gram, lam = _penalised_gram(x, l2, dropout, head)
    p = spd_inverse(gram)
    if zero_diagonal:
        sub = -p / np.diag(p)[None, :]
        sub[np.diag_indices(len(keep))] = 0.0
    else:
        sub = -p * lam[None, :]
        sub[np.diag_indices(len(keep))] += 1.0
    if len(keep) == n:
        return np.ascontiguousarray(sub, dtype=np.float32)
    b = np.zeros((n, n), dtype=np.float32)
    b[np.ix_(keep, keep)] = sub
    return b


class DLAE(EASE):
    """Denoising linear autoencoder (Steck 2020, "Autoencoders that don't overfit towards the
    identity"): dropout ``p`` on the input becomes the penalty ``Λ = l2 + p/(1-p)·diag(G)``.

    ``P = (G + Λ)^-1`` with ``G = XᵀX``; the free-diagonal solution is ``B = I - P·Λ`` (DLAE),
    the zero-diagonal one ``B = I - P / diag(P)`` (EDLAE, EASE with the dropout penalty).
    ``head`` fits the dense solve on the most supported items only (the others get zero weights):
    the cost is ``head³`` instead of ``items³``, which is how the search affords large catalogs.

    Examples
    --------
    >>> X = sp.csr_matrix([[1.0, 1, 0], [1.0, 1, 0], [0, 0, 1.0]])
    >>> DLAE(l2=1.0, dropout=0.5).fit(X).recommend(sp.csr_matrix([[1.0, 0, 0]]), N=1)[0].tolist()
    [[1]]
    """

    family: ClassVar[str] = "dlae"

    def __init__(
        self,
        l2: float = 100.0,
        dropout: float = 0.5,
        zero_diagonal: bool = False,
        head: int | None = None,
        max_items: int = 30000,
    ) -> None:
        self.l2 = l2
        self.dropout = dropout
        self.zero_diagonal = zero_diagonal
        self.head = head
        self.max_items = max_items

    def fit(self, user_items: sp.csr_matrix) -> DLAE:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout}")
        x = sp.csr_matrix(user_items, dtype=np.float64)
        n = x.shape[1]
        if n > self.max_items:
            raise ValueError(f"DLAE on {n} items exceeds max_items={self.max_items}")
        b = _dense_weights(x, self.l2, self.dropout, self.zero_diagonal, self.head)
        self.B_ = b
        self.n_items_ = n
        return self


class DenseScorer(Recommender):
    """An EASE / DLAE candidate's scores from the Cholesky factor of ``G + Λ``, never forming
    ``B``: what the model search fits. It scores a few thousand validation rows per candidate,
    where forming ``B`` costs the whole inverse (``potri``, twice the factor's flops); here
    the rows are two triangular solves (DLAE: ``XB = X - (XP)Λ``) and, for a zero diagonal,
    ``diag(P)`` from the factor's triangular inverse (EASE: ``XB = X - XP / diag(P)``). Never
    saved or served: the chosen candidate is refitted as its own family.

    >>> X = sp.csr_matrix([[1.0, 1, 0], [1.0, 1, 0], [0, 1.0, 1.0]])
    >>> for model in (EASE(l2=1.0), DLAE(l2=1.0, dropout=0.5)):
    ...     full = model.fit(X).score(X)
    ...     print(bool(np.allclose(DenseScorer(model).fit(X).score(X), full, atol=1e-5)))
    True
    True
    """

    family: ClassVar[str] = "dense-scorer"

    def __init__(self, model: EASE) -> None:
        self.model = model

    def fit(self, user_items: sp.csr_matrix) -> DenseScorer:
        m = self.model
        x = sp.csr_matrix(user_items, dtype=np.float64)
        n = x.shape[1]
        if n > m.max_items:
            raise ValueError(f"{m.family} on {n} items exceeds max_items={m.max_items}")
        dropout = float(getattr(m, "dropout", 0.0))
        zero = bool(getattr(m, "zero_diagonal", True))
        keep, gram, lam = _penalised_gram(x, m.l2, dropout, m.head)
        a = gram.T  # symmetric: the C-ordered array is its own Fortran-ordered transpose
        factor, info = lapack.spotrf(a, lower=1, clean=1, overwrite_a=1)
        self.n_items_, self.keep_, self.lam_ = n, keep, lam
        self.factor_: np.ndarray | None = None
        if info != 0:  # not positive definite: the family's own fit (its LU fallback)
            self.fallback_: Recommender | None = type(m)(**m.get_params()).fit(user_items)
            return self
        self.fallback_ = None
        self.factor_ = factor
        self.diag_p_: np.ndarray | None = None
        if zero:
            inv, info = lapack.strtri(factor, lower=1, overwrite_c=0)
            self.diag_p_ = np.einsum("ij,ij->j", inv, inv) if info == 0 else None
            if self.diag_p_ is None:
                self.fallback_ = type(m)(**m.get_params()).fit(user_items)
        return self

    def score(self, user_rows: sp.csr_matrix) -> np.ndarray:
        if self.fallback_ is not None:
            return self.fallback_.score(user_rows)
        rows = sp.csr_matrix(user_rows)
        xs = np.asarray(rows[:, self.keep_].toarray(), dtype=np.float32)
        xp, info = lapack.spotrs(self.factor_, np.asfortranarray(xs.T), lower=1)
        if info != 0:
            raise ValueError(f"triangular solve failed (info {info})")
        part = xs - (xp.T / self.diag_p_ if self.diag_p_ is not None else xp.T * self.lam_)
        out = np.zeros((rows.shape[0], self.n_items_), dtype=np.float32)
        out[:, self.keep_] = part
        return out

    def similarity_scores(self, item_ids: np.ndarray) -> np.ndarray:
        # row i of B is what a history holding item i alone scores
        ids = np.asarray(item_ids, dtype=np.int64)
        ones = np.ones(len(ids), dtype=np.float32)
        rows = sp.csr_matrix((ones, (np.arange(len(ids)), ids)), shape=(len(ids), self.n_items_))
        return self.score(rows)

    @classmethod
    def check_arrays(cls, arrays: Mapping[str, np.ndarray], n_items: int) -> list[str]:
        return ["a search scorer is never saved"]


class Popularity(Recommender):
    """Most popular items first: number of distinct customers, ties broken by summed weight."""

    family: ClassVar[str] = "popularity"
    array_names: ClassVar[tuple[str, ...]] = ("popularity_",)

    def __init__(self) -> None:
        pass

    def fit(self, user_items: sp.csr_matrix) -> Popularity:
        x = sp.csr_matrix(user_items, dtype=np.float32)
        users = np.asarray((x > 0).sum(axis=0)).ravel().astype(np.float64)
        weight = np.asarray(x.sum(axis=0)).ravel().astype(np.float64)
        tie = weight / (weight.max() + 1.0) if len(weight) else weight
        self.popularity_ = (users + tie).astype(np.float32)
        self.n_items_ = x.shape[1]
        return self

    @classmethod
    def check_arrays(cls, arrays: Mapping[str, np.ndarray], n_items: int) -> list[str]:
        return expect_array("popularity_", arrays["popularity_"], (n_items,), "f")

    def score(self, user_rows: sp.csr_matrix) -> np.ndarray:
        return np.tile(np.asarray(self.popularity_, dtype=np.float32), (user_rows.shape[0], 1))

    def similarity_scores(self, item_ids: np.ndarray) -> np.ndarray:
        return self.score(sp.csr_matrix((len(item_ids), self.n_items_)))
