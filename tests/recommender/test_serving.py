"""Serving core: rules that must never be broken, cold start, explanations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from core.records import kind_bit
from recommender.artifacts import save_version
from recommender.models import ALS, EASE, ItemKNN, Popularity
from recommender.serving import LoadedModel

N_USERS, N_ITEMS = 60, 24


def blocks() -> sp.csr_matrix:
    """Three customer groups, each buying most of its own block of 8 items."""
    rng = np.random.default_rng(0)
    dense = np.zeros((N_USERS, N_ITEMS), dtype=np.float32)
    for u in range(N_USERS):
        block = u % 3
        for i in range(block * 8, block * 8 + 8):
            if rng.random() < 0.7:
                dense[u, i] = float(rng.integers(1, 4))
    return sp.csr_matrix(dense)


def catalog() -> list[dict]:
    cats = ["a", "b", "c"]
    items = [
        {
            "item_id": f"i{i}",
            "category": cats[i // 8],
            "available": i != 2,
            "attributes": {"block": i // 8},
        }
        for i in range(N_ITEMS)
    ]
    items.append({"item_id": "new0", "category": "a", "attributes": {"block": 0}})
    return items


@pytest.fixture(scope="module", params=["als", "ease", "itemknn", "popularity"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> LoadedModel:
    x = blocks()
    model = {
        "als": ALS(factors=4, alpha=5.0, regularization=0.1, iterations=10, random_state=0),
        "ease": EASE(l2=2.0),
        "itemknn": ItemKNN("cosine", K=10),
        "popularity": Popularity(),
    }[request.param]
    model.fit(x)
    folder = save_version(
        tmp_path_factory.mktemp("m"),
        "t",
        model,
        np.array([f"i{i}" for i in range(N_ITEMS)]),
        {},
        popularity=Popularity().fit(x).popularity_,
        segments=(np.array(["s1"]), np.eye(1, N_ITEMS, 20, dtype=np.float32)),
    )
    return LoadedModel.load(folder, catalog())


def test_history_change_changes_answer_immediately(served: LoadedModel) -> None:
    if not served.scorer.personalised:
        pytest.skip("popularity ignores history")
    block0 = served.recommend_for_history(np.array([0, 1]), np.array([3.0, 3.0]), 5)
    block2 = served.recommend_for_history(np.array([16, 17]), np.array([3.0, 3.0]), 5)
    assert set(block0.item_idx.tolist()) != set(block2.item_idx.tolist())
    assert all(i // 8 == 2 for i in block2.item_idx[:3].tolist() if i < N_ITEMS)


@settings(max_examples=40, deadline=None)
@given(
    hist=st.lists(st.integers(0, N_ITEMS - 1), max_size=10, unique=True),
    excluded=st.lists(st.integers(0, N_ITEMS), max_size=5),
    n=st.integers(-3, 200),
    category=st.sampled_from([None, "a", "b", "zz"]),
    repurchase=st.booleans(),
)
def test_rules_never_violated(
    served: LoadedModel,
    hist: list[int],
    excluded: list[int],
    n: int,
    category: str | None,
    repurchase: bool,
) -> None:
    idx = np.array(hist, dtype=np.int32)
    rec = served.recommend_for_history(
        idx,
        np.ones(len(idx), np.float32),
        n,
        purchased_idx=idx,
        allow_repurchase=repurchase,
        exclude_idx=np.array(excluded, dtype=np.int32),
        category=category,
    )
    got = rec.item_idx.tolist()
    assert len(got) == len(set(got)) <= max(0, min(n, 100))
    assert 2 not in got  # unavailable
    assert not set(got) & set(excluded)
    if not repurchase:
        assert not set(got) & set(hist)
    if category is not None:
        cats = {"a": range(0, 8), "b": range(8, 16)}.get(category, range(0))
        assert all(i in cats or (served.item_ids[i] == "new0" and category == "a") for i in got)
    assert rec.fallback == ("popular" if not hist else None)


def test_deleted_item_never_served(served: LoadedModel) -> None:
    served.set_available(["i3"], False)
    try:
        for _ in range(3):
            rec = served.recommend_for_history(np.array([0]), np.array([2.0]), 50)
            assert 3 not in rec.item_idx.tolist()
            assert 3 not in served.similar(0, 50).item_idx.tolist()
            assert 3 not in served.cross_sell(np.array([1]), 50).item_idx.tolist()
    finally:
        served.set_available(["i3"], True)


def test_unknown_customer_gets_segment_popular(served: LoadedModel) -> None:
    rec = served.recommend_for_history(
        np.array([], np.int32), np.array([], np.float32), 3, segment="s1"
    )
    assert rec.fallback == "popular" and rec.item_idx[0] == 20


def test_new_item_served_by_attributes(served: LoadedModel) -> None:
    new = served.item_index["new0"]
    sim = served.similar(new, 5)
    assert len(sim.item_idx) == 5
    assert all(i // 8 == 0 for i in sim.item_idx.tolist() if i < N_ITEMS)
    assert sim.reasons[0][0]["type"] == "similar_attributes"
    cross = served.cross_sell(np.array([new]), 5)
    assert new not in cross.item_idx.tolist() and len(cross.item_idx) > 0


def test_explanations_name_history_items(served: LoadedModel) -> None:
    if not served.scorer.personalised:
        pytest.skip("popularity has no personal reasons")
    viewed, bought = kind_bit("view"), kind_bit("view") | kind_bit("purchase")
    rec = served.recommend_for_history(
        np.array([8, 9, 10]),
        np.array([3.0, 3.0, 3.0]),
        3,
        explain=True,
        hist_kinds=np.array([bought, viewed, kind_bit("rating")]),
    )
    named = {
        "because_you_bought": {"i8"},
        "because_you_viewed": {"i9"},
        "because_you_rated": {"i10"},
    }
    for reasons in rec.reasons:
        for r in reasons:
            assert r["type"] == "profile" or set(r["item_ids"]) <= named[r["type"]]
    assert any(r[0].get("item_ids") for r in rec.reasons)
    # without the kinds, no interaction is claimed (a view is never explained as a purchase)
    plain = served.recommend_for_history(
        np.array([8, 9, 10]), np.array([3.0, 3.0, 3.0]), 3, explain=True
    )
    assert {r["type"] for rs in plain.reasons for r in rs} <= {"because_you_interacted", "profile"}
