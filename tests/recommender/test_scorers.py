"""Contract tests every family's scorer passes: its top-k is the answer of scoring everything
and masking, new catalog items score through their proxies, explanations add up to the scores.

Customers have tastes (blocks of items, popularity-skewed within a block, which gives factor
models the skewed item norms their pruned scan relies on); the catalog has categories, a few
unavailable items and new items the model has never seen.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.artifacts import save_version
from recommender.foldin import IncrementalFoldIn
from recommender.models import ALS, BPR, EASE, ItemKNN, Popularity, Recommender
from recommender.scoring import FactorScorer, Scorer
from recommender.serving import LoadedModel

N_USERS, N_NEW = 400, 5
CATEGORIES = [None, "x", "y"]


def taste_matrix(n_items: int) -> sp.csr_matrix:
    rng = np.random.default_rng(1)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.7
    rows, cols = [], []
    for u in range(N_USERS):
        items = rng.choice(n_items, size=15, replace=False, p=pop / pop.sum())
        rows += [u] * len(items)
        cols += items.tolist()
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(N_USERS, n_items))


def catalog(n_items: int) -> list[dict]:
    items = [
        {
            "item_id": f"i{i}",
            "category": "xyz"[i % 3],
            "available": i % 97 != 0,
            "attributes": {"g": i % 5},
        }
        for i in range(n_items)
    ]
    return items + [
        {"item_id": f"new{k}", "category": "x", "attributes": {"g": k}} for k in range(N_NEW)
    ]


def brute_force(
    scorer: Scorer, model: LoadedModel, hist: np.ndarray, w: np.ndarray, n: int, category, banned
) -> tuple[np.ndarray, np.ndarray]:
    """Score every served item, mask, sort: what ``top`` must answer."""
    scores = scorer.scores(hist, w) + model.mask.penalty(category)
    scores[banned] = -np.inf
    order = np.argsort(-scores, kind="stable")[:n]
    order = order[np.isfinite(scores[order])]
    return order, scores[order]


class ScorerContract(ABC):
    """Mixin: subclasses define ``make()`` returning an unfitted model of the family."""

    n_items = 800
    examples = 25

    @abstractmethod
    def make(self) -> Recommender:
        """A new, unfitted model of the family under test."""

    @pytest.fixture(scope="class")
    @classmethod
    def loaded(cls, tmp_path_factory: pytest.TempPathFactory) -> tuple[LoadedModel, Recommender]:
        x = taste_matrix(cls.n_items)
        model = cls().make().fit(x)
        folder = save_version(
            tmp_path_factory.mktemp("m"),
            "t",
            model,
            np.array([f"i{i}" for i in range(cls.n_items)]),
            {},
            popularity=Popularity().fit(x).popularity_,
        )
        return LoadedModel.load(folder, catalog(cls.n_items)), model

    def test_top_equals_scoring_everything_and_masking(
        self, loaded: tuple[LoadedModel, Recommender]
    ) -> None:
        served, _ = loaded
        scorer = served.scorer

        @settings(max_examples=self.examples, deadline=None)
        @given(
            seed=st.integers(0, 10_000),
            n=st.integers(0, 100),
            category=st.sampled_from(CATEGORIES),
            n_excluded=st.integers(0, 50),
        )
        def check(seed: int, n: int, category: str | None, n_excluded: int) -> None:
            rng = np.random.default_rng(seed)
            hist = np.sort(rng.choice(self.n_items, size=int(rng.integers(1, 30)), replace=False))
            w = rng.uniform(1, 5, len(hist)).astype(np.float32)
            exclude = rng.choice(served.n_items, size=n_excluded, replace=False)
            banned = np.concatenate([exclude, hist]).astype(np.int64)
            idx, scores = scorer.top(hist, w, n, served.mask, category, [exclude, hist])
            want_idx, want_scores = brute_force(scorer, served, hist, w, n, category, banned)
            assert len(idx) == len(want_idx) and len(set(idx.tolist())) == len(idx)
            assert not set(idx.tolist()) & set(banned.tolist())
            # the same items up to ties: the scores at each rank agree
            np.testing.assert_allclose(scores, want_scores, rtol=1e-4, atol=1e-5)
            assert served.mask.allowed(idx, category).all()

        check()

    def test_availability_changes_apply_to_the_next_top(
        self, loaded: tuple[LoadedModel, Recommender]
    ) -> None:
        served, _ = loaded
        hist, w = np.array([1, 2, 3]), np.ones(3, np.float32)
        first = served.scorer.top(hist, w, 5, served.mask)[0]
        gone = served.item_ids[first[:2]].tolist()
        served.set_available(gone, False)
        try:
            after = served.scorer.top(hist, w, 5, served.mask)[0]
            assert not set(first[:2].tolist()) & set(after.tolist())
            np.testing.assert_array_equal(
                after, brute_force(served.scorer, served, hist, w, 5, None, [])[0]
            )
        finally:
            served.set_available(gone, True)
        np.testing.assert_array_equal(served.scorer.top(hist, w, 5, served.mask)[0], first)

    def test_new_catalog_items_score_through_their_proxies(
        self, loaded: tuple[LoadedModel, Recommender]
    ) -> None:
        served, _ = loaded
        scorer = served.scorer
        assert scorer.n_items == self.n_items + N_NEW == served.n_items
        scores = scorer.scores(np.array([0, 5]), np.array([1.0, 2.0], np.float32))
        assert scores.dtype == np.float32 and scores.shape == (served.n_items,)
        assert scorer.proxies is not None
        np.testing.assert_allclose(
            scores[self.n_items :], scorer.proxies @ scores[: self.n_items], rtol=1e-5
        )
        # with every trained item banned, only the new items can be answered
        trained = np.arange(self.n_items)
        idx, _ = scorer.top(
            np.array([0, 5]), np.array([1.0, 2.0]), 10, served.mask, None, [trained]
        )
        if scorer.personalised:
            assert sorted(served.item_ids[idx].tolist()) == [f"new{k}" for k in range(N_NEW)]

    def test_similarity_is_the_models(self, loaded: tuple[LoadedModel, Recommender]) -> None:
        served, model = loaded
        for item in (0, 7, self.n_items - 1):
            sims = served.scorer.similarity(item)
            assert sims.shape == (served.n_items,) and sims.flags.writeable
            np.testing.assert_allclose(
                sims[: self.n_items],
                model.similarity_scores(np.array([item]))[0],
                rtol=1e-4,
                atol=1e-6,
            )

    def test_contributions_add_up_to_the_scores(
        self, loaded: tuple[LoadedModel, Recommender]
    ) -> None:
        served, _ = loaded
        scorer = served.scorer
        hist, w = np.array([2, 9, 40, 41]), np.array([1.0, 3.0, 2.0, 1.0], np.float32)
        rec = np.array([0, 5, 100, self.n_items - 1])
        contrib = scorer.contributions(hist, w, rec)
        assert contrib.shape == (len(hist), len(rec))
        if scorer.personalised:
            np.testing.assert_allclose(
                contrib.sum(axis=0), scorer.model_scores(hist, w)[rec], rtol=1e-3, atol=1e-5
            )
        else:
            assert not contrib.any()

    def test_cached_vectors_give_the_same_top(
        self, loaded: tuple[LoadedModel, Recommender]
    ) -> None:
        served, _ = loaded
        scorer = served.scorer
        cache = scorer.vector_cache()
        assert (cache is not None) == isinstance(scorer, FactorScorer)
        hist, w = np.array([3, 10, 40], np.int32), np.array([1.0, 4.0, 2.0], np.float32)
        vector = cache.vector("c", hist, w) if isinstance(cache, IncrementalFoldIn) else None
        plain = scorer.top(hist, w, 10, served.mask)
        fast = scorer.top(hist, w, 10, served.mask, vector=vector)
        np.testing.assert_array_equal(plain[0], fast[0])
        np.testing.assert_allclose(plain[1], fast[1], rtol=1e-5, atol=1e-6)


class TestALSScorer(ScorerContract):
    n_items = 3000  # several blocks of the pruned scan
    examples = 60

    def make(self) -> Recommender:
        return ALS(factors=16, iterations=4, random_state=0)


class TestBPRScorer(ScorerContract):
    n_items = 3000

    def make(self) -> Recommender:
        return BPR(factors=16, iterations=20, num_threads=1, random_state=0)


class TestEASEScorer(ScorerContract):
    def make(self) -> Recommender:
        return EASE(l2=5.0)


class TestItemKNNScorer(ScorerContract):
    def make(self) -> Recommender:
        return ItemKNN(kind="cosine", K=20)


class TestPopularityScorer(ScorerContract):
    def make(self) -> Recommender:
        return Popularity()


def test_factor_fold_in_equals_implicit_user_step(tmp_path: Path) -> None:
    """Woodbury (short history) and Cholesky (long) fold-in both equal implicit's solve."""
    from implicit.cpu.als import AlternatingLeastSquares

    rng = np.random.default_rng(1)
    x = sp.random(300, 200, density=0.1, format="csr", random_state=1, dtype=np.float32)
    x.data = rng.integers(1, 5, x.nnz).astype(np.float32)
    model = ALS(factors=16, alpha=3.0, regularization=0.2, iterations=5, random_state=0).fit(x)
    scorer = FactorScorer(model)
    ref = AlternatingLeastSquares(factors=16, alpha=3.0, regularization=0.2)
    ref.item_factors = np.asarray(model.item_factors_)
    ref.user_factors = np.zeros((1, 16), np.float32)
    for k in (1, 3, 8, 30):  # 30 > factors/2: direct solve path
        idx = np.sort(rng.choice(200, k, replace=False)).astype(np.int32)
        w = rng.integers(1, 5, k).astype(np.float32)
        row = sp.csr_matrix((w, idx, [0, k]), shape=(1, 200))
        np.testing.assert_allclose(
            scorer.fold_in(idx, w), ref.recalculate_user(0, row), rtol=1e-3, atol=1e-5
        )
