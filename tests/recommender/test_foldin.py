"""Incremental fold-in: every kind of row change equals the exact fold-in, LRU, erasure."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.artifacts import save_version
from recommender.foldin import IncrementalFoldIn
from recommender.models import ALS, BPR, EASE
from recommender.scoring import FactorScorer
from recommender.serving import LoadedModel

N_USERS, N_ITEMS = 200, 120


def _matrix() -> sp.csr_matrix:
    rng = np.random.default_rng(3)
    x = sp.random(N_USERS, N_ITEMS, density=0.08, format="csr", random_state=3, dtype=np.float32)
    x.data = rng.integers(1, 5, x.nnz).astype(np.float32)
    return x


@pytest.fixture(scope="module", params=["als", "bpr"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    x = _matrix()
    model = (
        ALS(factors=16, alpha=3.0, regularization=0.1, iterations=5, random_state=0)
        if request.param == "als"
        else BPR(factors=16, iterations=20, num_threads=1, random_state=0)
    )
    model.fit(x)
    catalog = [{"item_id": str(i)} for i in range(N_ITEMS)] + [{"item_id": "new"}]
    folder = save_version(
        tmp_path_factory.mktemp("m"), "t", model, np.arange(N_ITEMS).astype(str), {}
    )
    return LoadedModel.load(folder, catalog)


@pytest.fixture(scope="module")
def served(loaded: LoadedModel) -> FactorScorer:
    """The factor scorer the cache belongs to (its ``fold_in`` is the exact reference)."""
    assert isinstance(loaded.scorer, FactorScorer)
    return loaded.scorer


def _row(cells: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    idx = np.array(sorted(cells), dtype=np.int32)
    return idx, np.array([cells[i] for i in idx.tolist()], dtype=np.float32)


def _check(
    cache: IncrementalFoldIn,
    model: FactorScorer,
    key: str,
    cells: dict[int, float],
    rtol: float = 1e-9,
) -> np.ndarray:
    idx, w = _row(cells)
    got = cache.vector(key, idx, w)
    want = model.fold_in(idx, w)
    # relative to the vector's scale (elements near 0 would make elementwise rtol meaningless)
    scale = max(float(np.abs(want).max()), 1e-3)
    assert float(np.abs(got - want).max()) / scale < rtol
    return got


def test_each_kind_of_change_equals_exact_fold_in(served: FactorScorer) -> None:
    cache = IncrementalFoldIn(served)
    cells = {3: 1.0, 10: 4.0, 11: 2.0, 40: 1.0, 77: 6.0}
    _check(cache, served, "c", cells)  # first sight: the model's fold-in
    assert cache.stats["misses"] == 1
    cells[10] = 5.0  # weight increased
    _check(cache, served, "c", cells)  # first update builds A^-1 (one solve)
    solves = cache.stats["solves"]
    steps: list[dict[int, float]] = [
        {**cells, 10: 8.0},  # weight increased again
        {**cells, 10: 8.0, 50: 1.0},  # new item: 0 -> w (p 0 -> 1)
        {**cells, 10: 8.0, 50: 1.0, 0: 2.0},  # new item at the front
        {**cells, 10: 8.0, 50: 1.0, 0: 2.0, 119: 4.0},  # new item at the end
        {
            k: v for k, v in {**cells, 10: 8.0, 50: 1.0, 0: 2.0, 119: 4.0}.items() if k != 11
        },  # a return: weight drops to 0
        {3: 1.0, 10: 8.0, 40: 0.2, 77: 6.0, 90: 3.0, 0: 2.0},  # several cells at once
        {3: 1.0, 10: 8.0, 40: 0.2, 77: 6.0, 90: 3.0, 0: 2.0},  # unchanged: cached vector
        {77: 6.0},  # everything but one returned
        {77: 6.0, 5: 1.0},
    ]
    for step in steps:
        _check(cache, served, "c", step)
    assert cache.stats["solves"] == solves  # every step above was a rank-1 update
    assert cache.stats["updates"] >= len(steps) - 1 and cache.stats["hits"] == 1


def test_single_cell_fast_paths_at_the_edges(served: FactorScorer) -> None:
    """One cell added or removed at the front, the end, into and out of an empty row: each a
    single rank-1 step (no solve)."""
    cache = IncrementalFoldIn(served)
    _check(cache, served, "c", {50: 1.0})
    _check(cache, served, "c", {50: 2.0})  # builds A^-1
    solves = cache.stats["solves"]
    for cells in (
        {50: 2.0, 60: 1.0},
        {40: 3.0, 50: 2.0, 60: 1.0},
        {50: 2.0, 60: 1.0},
        {50: 2.0},
        {},
        {7: 1.0},
        {7: 1.0, 119: 0.5},
        {7: 1.0, 119: 9.0},
        {119: 9.0},
    ):
        _check(cache, served, "c", cells, rtol=1e-8)
    assert cache.stats["solves"] == solves


def test_rows_breaking_the_contract_are_fixed_not_stepped(served: FactorScorer) -> None:
    """A one-cell difference that is not a finalized row (unsorted insert, weight 0) is
    canonicalised and solved, never stepped into a wrong state."""
    cache = IncrementalFoldIn(served)
    _check(cache, served, "c", {5: 1.0, 9: 1.0})
    _check(cache, served, "c", {5: 1.0, 9: 2.0})
    x = cache.vector("c", np.array([5, 9, 7], np.int32), np.array([1.0, 2.0, 1.0], np.float32))
    np.testing.assert_allclose(
        x, served.fold_in(np.array([5, 7, 9]), np.array([1.0, 1.0, 2.0])), rtol=1e-9
    )
    x = cache.vector("c", np.array([5, 7, 9], np.int32), np.array([1.0, 0.0, 2.0], np.float32))
    np.testing.assert_allclose(x, served.fold_in(np.array([5, 9]), np.array([1.0, 2.0])), rtol=1e-9)
    _check(cache, served, "c", {5: 1.0, 9: 3.0})


def test_empty_row_and_back(served: FactorScorer) -> None:
    cache = IncrementalFoldIn(served)
    _check(cache, served, "c", {4: 1.0, 8: 2.0})
    _check(cache, served, "c", {4: 1.0, 8: 3.0})
    np.testing.assert_allclose(
        cache.vector("c", np.empty(0, np.int32), np.empty(0, np.float32)), 0.0, atol=1e-12
    )
    _check(cache, served, "c", {9: 1.0})
    # a first update that empties the row solves from G^-1 alone
    _check(cache, served, "d", {4: 1.0})
    _check(cache, served, "d", {})
    _check(cache, served, "d", {5: 2.0})


def test_stale_cache_big_diff_re_solves(served: FactorScorer) -> None:
    """Another worker took many events: the diff exceeds max_changes and the row wins."""
    cache = IncrementalFoldIn(served, max_changes=3)
    _check(cache, served, "c", {1: 1.0, 2: 1.0})
    _check(cache, served, "c", {1: 1.0, 2: 2.0})
    solves = cache.stats["solves"]
    _check(cache, served, "c", {1: 1.0, 2: 2.0, 5: 1.0, 6: 1.0, 7: 1.0, 8: 1.0})
    assert cache.stats["solves"] == solves + 1


def test_many_random_updates_stay_within_tolerance(served: FactorScorer) -> None:
    """Hundreds of rank-1 steps (new items, increases, returns) with and without refresh."""
    rng = np.random.default_rng(0)
    for refresh in (64, 10**9):
        cache = IncrementalFoldIn(served, refresh_every=refresh)
        cells = {int(i): 1.0 for i in rng.choice(N_ITEMS, 10, replace=False)}
        _check(cache, served, "c", cells)
        for _ in range(400):
            r = rng.random()
            if r < 0.4 or not cells:
                j = int(rng.integers(N_ITEMS))
                cells[j] = cells.get(j, 0.0) + float(rng.choice([1.0, 2.0, 4.0]))
            elif r < 0.8:
                j = list(cells)[int(rng.integers(len(cells)))]
                cells[j] += 0.5
            else:
                del cells[list(cells)[int(rng.integers(len(cells)))]]
            _check(cache, served, "c", cells, rtol=1e-8)
        assert cache.stats["updates"] > 300
        if refresh == 64:  # the periodic re-solve happened
            assert cache.stats["solves"] >= 400 // 64


def test_matches_implicit_recalculate_user(tmp_path: Path) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    x = _matrix()
    model = ALS(factors=16, alpha=3.0, regularization=0.1, iterations=5, random_state=0).fit(x)
    served = FactorScorer(model)
    ref = AlternatingLeastSquares(factors=16, alpha=3.0, regularization=0.1)
    ref.item_factors = np.asarray(model.item_factors_)
    ref.user_factors = np.zeros((1, 16), np.float32)
    cache = IncrementalFoldIn(served)
    cells = {2: 1.0, 30: 2.0}
    for j in (30, 31, 2, 99, 31):
        cells[j] = cells.get(j, 0.0) + 1.0
        idx, w = _row(cells)
        want = ref.recalculate_user(0, sp.csr_matrix((w, idx, [0, len(idx)]), shape=(1, N_ITEMS)))
        np.testing.assert_allclose(cache.vector("c", idx, w), want, rtol=1e-3, atol=1e-5)


def test_rows_not_finalized_and_new_items(loaded: LoadedModel, served: FactorScorer) -> None:
    """Unsorted/duplicate cells are canonicalised; catalogue items unknown to the model
    (index >= n_model_items) are ignored, as recommend_for_history does."""
    cache = IncrementalFoldIn(served)
    new = loaded.item_index["new"]
    x = cache.vector("c", np.array([7, 3, 7], np.int32), np.array([1.0, 2.0, 1.0], np.float32))
    np.testing.assert_allclose(x, served.fold_in(np.array([3, 7]), np.array([2.0, 2.0])), rtol=1e-9)
    x = cache.vector("c", np.array([3, 7, new], np.int32), np.array([2.0, 3.0, 4.0]))
    np.testing.assert_allclose(x, served.fold_in(np.array([3, 7]), np.array([2.0, 3.0])), rtol=1e-9)
    x = cache.vector("c", np.array([9, 3, 7], np.int32), np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(
        x, served.fold_in(np.array([3, 7, 9]), np.array([2.0, 3.0, 1.0])), rtol=1e-9
    )


def test_lru_capacity_and_forget(served: FactorScorer) -> None:
    cache = IncrementalFoldIn(served, capacity=2)
    row = (np.array([1, 2], np.int32), np.array([1.0, 1.0], np.float32))
    cache.vector("a", *row)
    cache.vector("b", *row)
    cache.vector("a", *row)  # a is now the most recent
    cache.vector("c", *row)
    assert len(cache) == 2 and "b" not in cache and "a" in cache and "c" in cache
    cache.forget("a")
    cache.forget("never-seen")
    assert "a" not in cache and len(cache) == 1
    # a forgotten customer is rebuilt from its row, not from anything left behind
    np.testing.assert_allclose(cache.vector("a", *row), served.fold_in(*row), rtol=1e-12)


def test_inverse_budget_drops_least_recently_updated(served: FactorScorer) -> None:
    """Only ``max_inverses`` customers keep A^-1; the others keep their vector and re-solve
    at their next event, still exact."""
    cache = IncrementalFoldIn(served, max_bytes=2 * 8 * served.factors**2)
    assert cache.max_inverses == 2
    for key in ("a", "b", "c"):
        _check(cache, served, key, {1: 1.0, 2: 1.0})
        _check(cache, served, key, {1: 1.0, 2: 2.0})  # each builds its A^-1
    assert cache.stats["solves"] == 3 and len(cache) == 3
    assert cache._entries["a"].state is None and cache._entries["c"].state is not None
    _check(cache, served, "c", {1: 1.0, 2: 3.0})  # holds A^-1: a rank-1 step
    assert cache.stats["solves"] == 3
    _check(cache, served, "a", {1: 1.0, 2: 3.0})  # dropped: re-solves, drops b's
    assert cache.stats["solves"] == 4 and cache._entries["b"].state is None
    np.testing.assert_allclose(
        cache.vector("b", *_row({1: 1.0, 2: 2.0})),
        served.fold_in(*_row({1: 1.0, 2: 2.0})),
        rtol=1e-12,
    )


def test_concurrent_updates_of_one_customer(served: FactorScorer) -> None:
    cache = IncrementalFoldIn(served)
    rows = [_row({1: 1.0, 2: float(k % 3 + 1), 3 + k % 5: 1.0}) for k in range(40)]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for r in rows[offset:] + rows[:offset]:
                np.testing.assert_allclose(cache.vector("c", *r), served.fold_in(*r), rtol=1e-8)
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(o,)) for o in (0, 7, 19, 33)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_user_vector_gives_the_same_answer(loaded: LoadedModel, served: FactorScorer) -> None:
    cache = IncrementalFoldIn(served)
    idx, w = _row({3: 1.0, 10: 4.0, 40: 2.0})
    cache.vector("c", idx, w)
    idx, w = _row({3: 1.0, 10: 4.0, 40: 2.0, 41: 1.0})
    x = cache.vector("c", idx, w)
    plain = loaded.recommend_for_history(idx, w, 10, purchased_idx=idx[:1], explain=True)
    fast = loaded.recommend_for_history(
        idx, w, 10, purchased_idx=idx[:1], explain=True, user_vector=x
    )
    np.testing.assert_array_equal(plain.item_idx, fast.item_idx)
    np.testing.assert_allclose(plain.scores, fast.scores, rtol=1e-5, atol=1e-6)
    assert plain.reasons == fast.reasons

    basket = np.array([5, 6])
    keys, vals = loaded.basket_row(basket, idx, w)
    xb = cache.vector(("basket", "c"), keys, vals)
    plain = loaded.cross_sell(basket, 10, hist_idx=idx, hist_w=w)
    fast = loaded.cross_sell(basket, 10, hist_idx=idx, hist_w=w, user_vector=xb)
    np.testing.assert_array_equal(plain.item_idx, fast.item_idx)
    np.testing.assert_allclose(plain.scores, fast.scores, rtol=1e-5, atol=1e-6)


def test_only_factor_models_have_vectors(loaded: LoadedModel, tmp_path: Path) -> None:
    """The scorer makes the cache: factor models get one, EASE (whose per-event update
    already is the history-row product) none."""
    assert isinstance(loaded.scorer.vector_cache(), IncrementalFoldIn)
    folder = save_version(
        tmp_path, "t", EASE(l2=1.0).fit(_matrix()), np.arange(N_ITEMS).astype(str), {}
    )
    assert LoadedModel.load(folder).scorer.vector_cache() is None
