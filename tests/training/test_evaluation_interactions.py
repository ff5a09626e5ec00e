"""Metrics on hand-computed examples, the stratified split, weighting and artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from core.records import Event, EventFrame, kind_bit
from recommender.artifacts import read_meta, save_version, version_folder
from recommender.interactions import (
    InteractionWeights,
    build_matrix,
    finalize_history,
    history_row,
    update_history,
    with_sessions,
)
from recommender.models import EASE, Recommender, rows_per_batch
from recommender.policy import DEFAULT_POLICY, RecommendationPolicy
from training.evaluation import (
    evaluate_model,
    ranking_metrics,
    split_frame_masks,
    stratified_split,
)
from training.train import TrainConfig, train_from_frame


def test_metrics_hand_computed() -> None:
    # user 0: relevant {1, 3}, recs [1, 2, 3] -> hits at ranks 1 and 3
    # user 1: relevant {0}, recs [2, 1, -1] -> no hit; user 2 has nothing relevant (skipped)
    truth = sp.csr_matrix([[0, 1, 0, 1.0], [1.0, 0, 0, 0], [0, 0, 0, 0]])
    recs = np.array([[1, 2, 3], [2, 1, -1], [0, 1, 2]])
    m = ranking_metrics(recs, truth, k=3)
    assert m["users"] == 2
    assert m["precision@3"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["recall@3"] == pytest.approx((1.0 + 0) / 2)
    dcg = 1 + 1 / np.log2(4)
    idcg = 1 + 1 / np.log2(3)
    assert m["ndcg@3"] == pytest.approx(dcg / idcg / 2)
    assert m["map@3"] == pytest.approx((1 + 2 / 3) / 2 / 2)
    assert m["hit_rate@3"] == pytest.approx(0.5)
    assert m["coverage"] == pytest.approx(4 / 4)


def test_stratified_split_per_item_counts() -> None:
    items = np.repeat(np.arange(5), [1, 2, 4, 6, 10])
    train, test = stratified_split(items, 0.75, 42)
    # a row goes to train when its rank / group size <= 0.75: 0 of 1, 1 of 2, 3 of 4, 4 of 6
    # (5/6 > 0.75), 7 of 10
    assert np.bincount(items[train], minlength=5).tolist() == [0, 1, 3, 4, 7]
    assert not np.any(train & test)
    assert (train | test).all()
    again, _ = stratified_split(items, 0.75, 42)
    assert np.array_equal(train, again)


def _events() -> EventFrame:
    return EventFrame.from_events(
        [
            Event("1", "c1", "view", 0.0, item_id="a"),
            Event("2", "c1", "purchase", 0.0, item_id="b"),
            Event("3", "c1", "return", 1.0, item_id="b"),
            Event("4", "c2", "rating", 0.0, item_id="a", value=5.0),
            Event("5", "c2", "dislike", 0.0, item_id="c"),
            Event("6", "c2", "add_to_cart", 86400.0 * 10, item_id="c"),
            Event("7", "c3", "impression", 0.0, item_id="a"),
        ]
    )


def test_build_matrix_weights_and_clipping() -> None:
    m, customers, items = build_matrix(_events(), InteractionWeights())
    assert customers.tolist() == ["c1", "c2", "c3"]  # c3's row stays, empty (impression = 0)
    assert items.tolist() == ["a", "b", "c"]
    # c1: view a = 1, purchase+return b = 0 (dropped); c2: rating 5 on a, dislike+cart on c < 0
    assert m.toarray().tolist() == [[1.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert m.nnz == 2


def test_time_decay_halves_per_half_life() -> None:
    w = InteractionWeights(half_life_days=10.0, type_weights={"add_to_cart": 2.0})
    m, _, _ = build_matrix(_events(), w, as_of=86400.0 * 20)
    # cart 2 x 0.5 (one half-life); the 5-star rating always counts, decayed twice: 1.25
    assert m.toarray()[1].tolist() == pytest.approx([1.25, 0.0, 1.0])


def test_history_row_matches_training_row() -> None:
    frame = _events()
    m, customers, items = build_matrix(frame, InteractionWeights(max_weight=3.0))
    index = {k: i for i, k in enumerate(items.tolist())}
    for u, c in enumerate(customers.tolist()):
        h = history_row(
            frame.select(frame.customer_id == c), index, InteractionWeights(max_weight=3.0)
        )
        assert h.idx.tolist() == m[u].indices.tolist()
        assert h.weights.tolist() == m[u].data.tolist()
    h1 = history_row(frame.select(frame.customer_id == "c1"), index)
    assert h1.excluded.tolist() == [index["b"]]  # bought: the default policy excludes it


def test_incremental_history_equals_batch() -> None:
    frame = _events()
    w = InteractionWeights()
    _, _, items = build_matrix(frame, w)
    index = {k: i for i, k in enumerate(items.tolist())}
    raw: dict[str, float] = {}
    sub = frame.select(frame.customer_id == "c2")
    for t, i, v in zip(sub.type, sub.item_id, sub.value, strict=True):
        update_history(raw, i, t, w, value=None if np.isnan(v) else v)
    kinds: dict[str, int] = {}
    for t, i in zip(sub.type, sub.item_id, strict=True):
        kinds[i] = kinds.get(i, 0) | kind_bit(t)
    inc = finalize_history(raw, index, w, kinds)
    batch = history_row(sub, index, w)
    assert inc.idx.tolist() == batch.idx.tolist()
    assert inc.weights.tolist() == batch.weights.tolist()
    assert inc.kinds.tolist() == batch.kinds.tolist()
    assert inc.excluded.tolist() == batch.excluded.tolist()


def test_artifact_round_trip_without_pickle(tmp_path: Path) -> None:
    x = sp.csr_matrix(np.eye(4, dtype=np.float32) + np.eye(4, k=1, dtype=np.float32))
    model = EASE(l2=1.0).fit(x)
    folder = save_version(
        tmp_path,
        "acme",
        model,
        np.array(["a", "b", "c", "d"]),
        {"fingerprint": "f00", "metrics": {"ndcg@10": 0.5}},
    )
    for f in folder.glob("*.npy"):
        assert np.load(f, allow_pickle=False).dtype != object
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["family"] == "ease" and meta["params"]["l2"] == 1.0
    assert read_meta(folder)["version"] == folder.name
    assert version_folder(tmp_path, "acme", folder.name) == folder
    with pytest.raises(ValueError):
        version_folder(tmp_path, "acme", "../x")
    loaded = Recommender.load(folder)
    np.testing.assert_allclose(loaded.score(x), model.score(x), rtol=1e-6)


def test_train_auto_picks_by_validation(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    events = []
    for n in range(1500):
        c = int(rng.integers(60))
        item = (c % 3) * 10 + int(rng.integers(10))
        events.append(Event(str(n), f"c{c}", "purchase", float(n * 3600), item_id=f"i{item}"))
    folder = train_from_frame(
        EventFrame.from_events(events),
        TrainConfig(
            model="auto", families=("popularity", "ease"), validation_days=10, progress=False
        ),
        tmp_path,
        "acme",
    )
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["family"] == "ease"
    assert meta["metrics"]["validation"]["ndcg@10"] > 0
    # popularity and EASE probed (EASE on counted and binary), EASE's grid on the better
    # weighting, then refined: its grid on the other one and midpoints of its penalty
    stages = [t["stage"] for t in meta["search"]["trials"]]
    assert stages.count("probe") == 3 and stages.count("grid") == 2
    assert stages.count("refine") >= 3
    assert meta["seconds"]["total"] >= meta["seconds"]["fit"]


def test_evaluation_and_serving_exclude_by_the_same_policy() -> None:
    """What a customer already has is one rule: the serving row's ``excluded`` and the
    evaluation split's ``excluded`` agree, and a viewed item stays recommendable and relevant."""
    train = [
        Event("1", "c1", "view", 0.0, item_id="a"),
        Event("2", "c1", "purchase", 1.0, item_id="b"),
        Event("3", "c1", "rating", 2.0, item_id="c", value=4.0),
        Event("4", "c2", "purchase", 1.0, item_id="a"),
        Event("5", "c2", "purchase", 1.0, item_id="d"),
        Event("6", "c2", "view", 1.0, item_id="c"),
    ]
    test = [
        Event("7", "c1", "purchase", 5.0, item_id="a"),
        Event("8", "c1", "purchase", 5.0, item_id="c"),
    ]
    frame = EventFrame.from_events(train + test)
    in_train = frame.timestamp < 5.0
    for policy in (DEFAULT_POLICY, RecommendationPolicy(frozenset({"view"}))):
        split = split_frame_masks(frame, in_train, ~in_train, InteractionWeights(), policy)
        assert split.excluded is not None
        index = {k: i for i, k in enumerate(split.item_ids.tolist())}
        for u, c in enumerate(split.customer_ids.tolist()):
            sub = frame.select(in_train & (frame.customer_id == c))
            served = history_row(sub, index, policy=policy)
            assert served.excluded.tolist() == split.excluded[u].indices.tolist()
        c1 = split.customer_ids.tolist().index("c1")
        relevant = {split.item_ids[j] for j in split.test[c1].indices}
        # by default: the viewed "a" is relevant, the rated "c" is had; excluding views: reversed
        assert relevant == ({"a"} if policy is DEFAULT_POLICY else {"c"})
        model = EASE(l2=1.0).fit(split.train)
        metrics = evaluate_model(model, split, k=2)
        recs, scores = model.recommend(
            split.train[[c1]],
            N=4,
            filter_already_liked_items=False,
            filter_rows=split.excluded[[c1]],
        )
        shown = set(recs[0][np.isfinite(scores[0])].tolist())
        assert shown and not shown & set(split.excluded[c1].indices.tolist())
        assert metrics["users"] == 1


def _visits() -> EventFrame:
    """c1 buys a and b in one visit, c a day later; c2 buys a, then b two hours later."""
    rows = [("c1", "a", 0.0), ("c1", "b", 600.0), ("c1", "c", 86400.0), ("c2", "a", 0.0)]
    rows.append(("c2", "b", 7200.0))
    return EventFrame.from_events(
        [Event(str(n), c, "purchase", t, item_id=i) for n, (c, i, t) in enumerate(rows)]
    )


def test_visits_make_one_sittings_items_more_related_and_keep_each_items_weight() -> None:
    frame = _visits()
    m, customers, items = build_matrix(frame)
    plain = (m.T @ m).toarray()
    for share in (0.5, 0.8):
        rows = with_sessions(m, frame, customers, items, share)
        # two customer rows, then c1's visits {a, b} and {c}, c2's {a} and {b} (2 h apart)
        assert rows.shape == (2 + 4, 3)
        gram = (rows.T @ rows).toarray()
        a, b, c = (items.tolist().index(x) for x in "abc")
        np.testing.assert_allclose(np.diag(gram), np.diag(plain), rtol=1e-6)
        # a-b: one pair within a visit (c1), one across visits (c2); a-c: across only
        np.testing.assert_allclose(gram[a, b], 16.0 + (1 - share) * 16.0, rtol=1e-6)
        np.testing.assert_allclose(gram[a, c], (1 - share) * 16.0, rtol=1e-6)
    assert with_sessions(m, frame, customers, items, 0.0) is m
    with pytest.raises(ValueError, match="session_share"):
        InteractionWeights(session_share=1.0)


def test_visits_change_what_models_fit_on_never_the_rows_they_score() -> None:
    frame = _visits()
    weights = InteractionWeights(session_share=0.5)
    train = np.ones(len(frame), dtype=bool)
    split = split_frame_masks(frame, train, ~train, weights)
    plain = split_frame_masks(frame, train, ~train, InteractionWeights())
    assert (split.train != plain.train).nnz == 0 and plain.fit_matrix is None
    assert split.fit_rows.shape[0] == 6 and plain.fit_rows is plain.train
    # serving folds in the customer's row, the same whatever the visits share
    m, _, items = build_matrix(frame, weights)
    index = {k: i for i, k in enumerate(items.tolist())}
    one = frame.select(frame.customer_id == "c1")
    assert history_row(one, index, weights).weights.tolist() == m[0].data.tolist()
    # the share round-trips through the version's metadata
    assert InteractionWeights.from_dict(weights.to_dict()) == weights


def test_evaluation_is_the_same_in_any_batch_size() -> None:
    rng = np.random.default_rng(0)
    events = [
        Event(str(k), f"c{k % 60}", "purchase", float(k), item_id=f"i{int(rng.integers(40))}")
        for k in range(900)
    ]
    frame = EventFrame.from_events(events)
    in_train = frame.timestamp < 700
    split = split_frame_masks(frame, in_train, ~in_train, InteractionWeights(), DEFAULT_POLICY)
    model = EASE(l2=5.0).fit(split.train)
    whole = evaluate_model(model, split)
    assert whole["users"] > 20
    for batch in (1, 7):  # the default batch holds every user at once here
        assert evaluate_model(model, split, batch=batch) == whole
    assert rows_per_batch(200_000) == 83 and rows_per_batch(40) == 2048
