"""Contract tests every recommender family passes, on checkerboard fixtures (implicit's style).

Customers in two groups: even customers like even items, odd ones odd items. Whatever the family,
a customer's recommendations must stay in their own parity, already-liked and filtered items
must never come back, and a saved model must answer identically after loading without pickle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.models import (
    ALS,
    BPR,
    DLAE,
    EASE,
    ItemKNN,
    NotFittedError,
    Popularity,
    Recommender,
)
from recommender.models.neighbours import DenseScorer

N_USERS, N_ITEMS = 50, 20


def checkerboard() -> sp.csr_matrix:
    """Each customer likes all items of its parity except one (different per customer)."""
    rows, cols = [], []
    for u in range(N_USERS):
        for i in range(u % 2, N_ITEMS, 2):
            if i != (2 * (u // 2)) % N_ITEMS + u % 2:
                rows.append(u)
                cols.append(i)
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(N_USERS, N_ITEMS))


class RecommenderContract(ABC):
    """Mixin: subclasses define ``make()`` returning an unfitted model."""

    personalised = True

    @abstractmethod
    def make(self) -> Recommender:
        """A new, unfitted model of the family under test."""

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls) -> tuple[Recommender, sp.csr_matrix]:
        x = checkerboard()
        return cls().make().fit(x), x

    def test_fit_returns_self_and_unfitted_raises(self) -> None:
        model = self.make()
        with pytest.raises(NotFittedError):
            model.recommend(checkerboard()[:1], N=3)

    def test_recommends_batch_shapes(self, fitted: tuple[Recommender, sp.csr_matrix]) -> None:
        model, x = fitted
        ids, scores = model.recommend(x[:7], N=3)
        assert ids.shape == (7, 3) and scores.shape == (7, 3)
        assert np.all(np.diff(scores, axis=1) <= 1e-6)

    def test_never_already_liked_or_filtered(
        self, fitted: tuple[Recommender, sp.csr_matrix]
    ) -> None:
        model, x = fitted
        ids, scores = model.recommend(x, N=N_ITEMS, filter_items=np.array([0, 1]))
        for u in range(N_USERS):
            shown = ids[u][np.isfinite(scores[u])]
            assert not set(shown.tolist()) & set(x[u].indices.tolist())
            assert 0 not in shown and 1 not in shown
            assert len(set(shown.tolist())) == len(shown)

    def test_checkerboard_parity(self, fitted: tuple[Recommender, sp.csr_matrix]) -> None:
        if not self.personalised:
            pytest.skip("non-personalised family")
        model, x = fitted
        ids, _ = model.recommend(x, N=1)
        assert np.all(ids[:, 0] % 2 == np.arange(N_USERS) % 2)

    def test_similar_items_same_parity(self, fitted: tuple[Recommender, sp.csr_matrix]) -> None:
        if not self.personalised:
            pytest.skip("non-personalised family")
        model, _ = fitted
        ids, _ = model.similar_items(np.arange(N_ITEMS), N=2)
        assert ids.shape == (N_ITEMS, 2)
        assert np.all(ids % 2 == (np.arange(N_ITEMS) % 2)[:, None])
        assert not np.any(ids == np.arange(N_ITEMS)[:, None])

    def test_save_load_round_trip_without_pickle(
        self, fitted: tuple[Recommender, sp.csr_matrix], tmp_path: Path
    ) -> None:
        model, x = fitted
        model.save(tmp_path)
        for f in tmp_path.glob("*.npy"):
            arr = np.load(f, allow_pickle=False)
            assert arr.dtype != object
        loaded = Recommender.load(tmp_path, mmap=True)
        assert type(loaded) is type(model)
        _, sa = model.recommend(x[:10], N=5)
        _, sb = loaded.recommend(x[:10], N=5)
        np.testing.assert_allclose(sa, sb, rtol=1e-5)

    def test_saved_arrays_pass_their_check_and_damaged_ones_do_not(
        self, fitted: tuple[Recommender, sp.csr_matrix], tmp_path: Path
    ) -> None:
        model, _ = fitted
        model.save(tmp_path)
        arrays = {f.stem: np.load(f) for f in tmp_path.glob("*.npy")}
        assert type(model).check_arrays(arrays, N_ITEMS) == []
        assert type(model).check_arrays(arrays, N_ITEMS + 1)  # for another catalog size
        floats = next(n for n, a in sorted(arrays.items()) if a.dtype.kind == "f")
        as_ints = {**arrays, floats: arrays[floats].astype(np.int64)}
        assert any("dtype" in p for p in type(model).check_arrays(as_ints, N_ITEMS))

    def test_similarity_scores_shape(self, fitted: tuple[Recommender, sp.csr_matrix]) -> None:
        model, _ = fitted
        sims = model.similarity_scores(np.array([0, 3]))
        assert sims.shape == (2, N_ITEMS) and np.isfinite(sims).all()


class TestALS(RecommenderContract):
    def make(self) -> Recommender:
        return ALS(factors=2, iterations=15, regularization=0.1, alpha=2.0, random_state=0)


class TestBPR(RecommenderContract):
    def make(self) -> Recommender:
        return BPR(factors=8, iterations=200, learning_rate=0.05, random_state=0, num_threads=1)


class TestItemKNNBM25(RecommenderContract):
    def make(self) -> Recommender:
        return ItemKNN(kind="bm25", K=10)


class TestItemKNNCosine(RecommenderContract):
    def make(self) -> Recommender:
        return ItemKNN(kind="cosine", K=10)


class TestEASE(RecommenderContract):
    def make(self) -> Recommender:
        return EASE(l2=5.0)


class TestPopularity(RecommenderContract):
    personalised = False

    def make(self) -> Recommender:
        return Popularity()


def test_popularity_orders_by_customers() -> None:
    x = sp.csr_matrix([[1.0, 1, 0], [1.0, 0, 0], [1.0, 0, 1]])
    ids, _ = Popularity().fit(x).recommend(sp.csr_matrix((1, 3)), N=3)
    assert ids[0, 0] == 0


def test_ease_refuses_huge_catalogues() -> None:
    with pytest.raises(ValueError, match="max_items"):
        EASE(max_items=5).fit(sp.csr_matrix((2, 6)))


def test_als_foldin_equals_exact_user_step() -> None:
    """The batch fold-in is implicit's exact least-squares user step."""
    from implicit.cpu.als import AlternatingLeastSquares

    x = checkerboard()
    model = ALS(factors=6, iterations=5, alpha=2.0, regularization=0.1, random_state=0).fit(x)
    ref = AlternatingLeastSquares(factors=6, alpha=2.0, regularization=0.1)
    ref.item_factors = np.asarray(model.item_factors_)
    ref.user_factors = np.zeros((1, 6), np.float32)
    np.testing.assert_allclose(
        model.user_factors_for(x[3]), ref.recalculate_user([0], x[3]), rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("family", [ALS, BPR])
def test_gpu_when_present_else_cpu_with_a_warning(family: type[Recommender]) -> None:
    """``use_gpu="auto"`` trains on CUDA when implicit has it; asking for the GPU where there is
    none warns and trains on the CPU instead of failing."""
    import warnings

    import implicit.gpu

    if implicit.gpu.HAS_CUDA:
        pytest.skip("this machine has CUDA: the fallback cannot be observed")
    x = checkerboard()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "auto" without CUDA is silent
        family(factors=4, iterations=2, use_gpu="auto").fit(x)  # type: ignore[call-arg]
    with pytest.warns(RuntimeWarning, match="no CUDA"):
        model = family(factors=4, iterations=2, use_gpu=True).fit(x)  # type: ignore[call-arg]
    assert np.asarray(model.item_factors_).shape[0] == N_ITEMS  # type: ignore[attr-defined]


def test_auto_takes_the_gpu_branch_when_implicit_has_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    """The branch ``use_gpu="auto"`` takes is decided by ``implicit.gpu.HAS_CUDA``: with it set
    (a stand-in GPU class here: this machine has no CUDA) ALS trains on the GPU class and keeps
    its item factors as CPU float32."""
    import implicit.gpu
    import implicit.gpu.als

    used: list[dict] = []

    class FakeGpuALS:
        def __init__(self, **kwargs: object) -> None:
            used.append(dict(kwargs))

        def fit(self, x: object, show_progress: bool = False) -> None:
            self.n_items = x.shape[1]  # type: ignore[attr-defined]

        def to_cpu(self) -> object:
            return type("Cpu", (), {"item_factors": np.ones((self.n_items, 4), np.float64)})()

    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", True)
    monkeypatch.setattr(implicit.gpu.als, "AlternatingLeastSquares", FakeGpuALS)
    model = ALS(factors=4, iterations=2, use_gpu="auto").fit(checkerboard())
    assert used and used[0]["factors"] == 4
    assert model.item_factors_.dtype == np.float32 and model.item_factors_.shape == (N_ITEMS, 4)
    # and without CUDA the same call stays on the CPU
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", False)
    used.clear()
    ALS(factors=4, iterations=2, use_gpu="auto").fit(checkerboard())
    assert used == []


@pytest.mark.parametrize(
    "model",
    [
        EASE(l2=5.0),
        DLAE(l2=5.0, dropout=0.5),
        DLAE(l2=5.0, dropout=0.33, zero_diagonal=True),
        DLAE(l2=2.0, dropout=0.5, head=6),
    ],
    ids=["ease", "dlae", "edlae", "dlae-head"],
)
def test_the_search_scorer_gives_the_dense_models_scores_without_forming_b(
    model: EASE,
) -> None:
    rng = np.random.default_rng(0)
    x = sp.csr_matrix((rng.random((40, 10)) < 0.35).astype(np.float32))
    rows = sp.csr_matrix((rng.random((7, 10)) < 0.4).astype(np.float32))
    scorer = DenseScorer(model).fit(x)
    assert scorer.fallback_ is None  # the factor was used, not the family's own fit
    np.testing.assert_allclose(scorer.score(rows), model.fit(x).score(rows), atol=1e-4)
    ids, _ = scorer.recommend(rows, N=3)
    np.testing.assert_array_equal(ids, model.recommend(rows, N=3)[0])
    items = np.array([0, 4, 9])
    np.testing.assert_allclose(
        scorer.similarity_scores(items), model.similarity_scores(items), atol=1e-4
    )


def test_the_search_scorer_falls_back_when_the_gram_is_not_positive_definite() -> None:
    x = sp.csr_matrix(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]], dtype=np.float32))
    model = EASE(l2=-0.5)  # G + l2·I is indefinite (no Cholesky factor) but invertible
    scorer = DenseScorer(model).fit(x)
    assert scorer.fallback_ is not None
    np.testing.assert_allclose(scorer.score(x), model.fit(x).score(x), atol=1e-5)
