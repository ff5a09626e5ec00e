"""The norm-pruned top-k of factor models gives exactly the brute-force answer."""

from __future__ import annotations

import tempfile

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.artifacts import save_version
from recommender.models import ALS
from recommender.serving import LoadedModel

N_ITEMS = 3000  # several scan blocks


def _model() -> LoadedModel:
    rng = np.random.default_rng(1)
    # Popularity-skewed interactions give ALS the skewed item norms the pruning relies on.
    pop = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.7
    rows, cols = [], []
    for u in range(400):
        items = rng.choice(N_ITEMS, size=15, replace=False, p=pop / pop.sum())
        rows += [u] * len(items)
        cols += items.tolist()
    X = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(400, N_ITEMS))
    folder = save_version(
        tempfile.mkdtemp(),
        "t",
        ALS(factors=16, iterations=4).fit(X),
        np.array([f"i{i}" for i in range(N_ITEMS)]),
        {},
    )
    cats = ["x", "y", "z"]
    catalog = [
        {
            "item_id": f"i{i}",
            "category": cats[i % 3],
            "available": i % 97 != 0,
            "attributes": {"g": i % 5},
        }
        for i in range(N_ITEMS)
    ]
    catalog += [{"item_id": f"new{k}", "category": "x", "attributes": {"g": k}} for k in range(5)]
    return LoadedModel.load(folder, catalog=catalog)


MODEL = _model()


def brute_force(x: np.ndarray, n: int, category: str | None, exclude: np.ndarray) -> list[int]:
    scores = MODEL._all_scores(MODEL._y @ x.astype(np.float32))
    scores = scores + MODEL._penalty(category)
    scores[exclude] = -np.inf
    order = np.argsort(-scores, kind="stable")[:n]
    return [int(i) for i in order if np.isfinite(scores[i])]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 100),
    category=st.sampled_from([None, "x", "y"]),
    n_excluded=st.integers(0, 50),
)
def test_pruned_scan_equals_scoring_everything(
    seed: int, n: int, category: str | None, n_excluded: int
) -> None:
    rng = np.random.default_rng(seed)
    hist = rng.choice(N_ITEMS, size=int(rng.integers(1, 30)), replace=False)
    x = MODEL.fold_in(hist, rng.uniform(1, 5, len(hist)))
    exclude = rng.choice(MODEL.n_items, size=n_excluded, replace=False)
    idx, scores = MODEL._factor_top(x, n, category, [exclude, hist])
    expected = brute_force(x, n, category, np.concatenate([exclude, hist]).astype(np.int64))
    assert len(idx) == len(expected)
    full = MODEL._all_scores(MODEL._y @ x.astype(np.float32))
    # Same items up to ties: the scores at each rank agree.
    np.testing.assert_allclose(scores, full[expected], rtol=1e-4, atol=1e-5)
    assert len(set(idx.tolist())) == len(idx)
    assert not set(idx.tolist()) & set(np.concatenate([exclude, hist]).tolist())


def test_new_catalog_items_take_part() -> None:
    # With every trained item excluded, only the new catalog items (scored through their
    # attribute proxies) can be answered, in the brute-force order.
    x = MODEL.fold_in(np.array([0, 1, 2]), np.array([1.0, 2.0, 3.0]))
    trained = np.arange(MODEL.n_model_items)
    idx, _ = MODEL._factor_top(x, 10, None, [trained])
    assert sorted(MODEL.item_ids[idx].tolist()) == [f"new{k}" for k in range(5)]
    assert idx.tolist() == brute_force(x, 10, None, trained)
