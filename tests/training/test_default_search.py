"""The default ``atelier train`` (``--model auto``): validation that cannot silently fail, the
weighting searched with the family, relative regularisation, DLAE, on small generated events
whose right answer is obvious (two groups of customers, each using its own block of items)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from core.records import Event, EventFrame
from recommender.interactions import InteractionWeights, build_matrix
from recommender.models import DLAE, EASE
from training.train import TrainConfig, read_meta, train_from_frame
from training.tuning import resolve_params, search_auto, weighting_candidates
from training.validation import plan_validation

DAY = 86400.0


def _blocks(kind: str, n_customers: int = 120, per: int = 10, days: float = 20.0) -> EventFrame:
    """Customers of group g interact with items g*15 .. g*15+14 (ratings 1-5 or purchases)."""
    rng = np.random.default_rng(3)
    events = []
    for c in range(n_customers):
        g = c % 2
        for k, item in enumerate(rng.choice(15, size=per, replace=False).tolist()):
            value = float(rng.integers(1, 6)) if kind == "rating" else None
            ts = 1.3e9 + float(rng.uniform(0, days)) * DAY
            events.append(
                Event(f"{c}-{k}", f"c{c}", kind, ts, item_id=f"i{g * 15 + item}", value=value)
            )
    events.sort(key=lambda e: e.timestamp)
    return EventFrame.from_events(events)


FAST = ("popularity", "itemknn", "ease", "dlae")


def test_ratings_only_tenant_gets_a_real_validation_and_a_personal_model(tmp_path: Path) -> None:
    frame = _blocks("rating")
    config = TrainConfig(families=FAST, progress=False)
    meta = read_meta(train_from_frame(frame, config, tmp_path, "t"))
    val = meta["validation"]
    # 20 days of events: no 30-day slice, so a random holdout, and it says why
    assert val["scheme"] == "holdout" and "holdout" in val["reason"]
    assert val["customers"] >= 100 and not val["degenerate"] and meta["warnings"] == []
    assert val["targets"] == "purchases and every rating"
    chosen = meta["metrics"]["validation"]["ndcg@10"]
    baseline = meta["metrics"]["validation_popularity"]["ndcg@10"]
    assert meta["family"] != "popularity" and chosen > baseline + 0.1
    # the weighting was searched too, and every trial names its weighting
    names = {t["weighting"] for t in meta["search"]["trials"]}
    assert {"counted", "binary"} <= names
    assert meta["weights"] == dict(
        next(
            w for n, w in weighting_candidates(frame) if n == meta["search"]["weighting"]
        ).to_dict()
    )


def test_active_version_is_scored_on_the_same_slice(tmp_path: Path) -> None:
    frame = _blocks("purchase")
    config = TrainConfig(families=("popularity", "itemknn"), progress=False)
    first = train_from_frame(frame, config, tmp_path, "t")
    meta = read_meta(train_from_frame(frame, config, tmp_path, "t", active=first))
    active = meta["metrics"]["validation_active"]
    assert active["version"] == first.name
    assert active["users"] == meta["metrics"]["validation"]["users"]
    assert 0.0 < active["ndcg@10"] <= 1.0


def test_degenerate_validation_warns(tmp_path: Path) -> None:
    events = [
        Event(str(i), f"c{i % 4}", "purchase", float(i), item_id=f"i{i % 5}") for i in range(20)
    ]
    meta = read_meta(
        train_from_frame(
            EventFrame.from_events(events),
            TrainConfig(families=("popularity", "itemknn"), progress=False),
            tmp_path,
            "t",
        )
    )
    assert meta["validation"]["degenerate"] is True
    assert any("degenerate" in w for w in meta["warnings"])


def test_thin_temporal_slice_falls_back_and_a_wide_one_is_used() -> None:
    # 200 days of events, every customer active in the last 30: the temporal slice is used
    wide = plan_validation(_blocks("purchase", n_customers=600, days=200.0))
    assert wide.scheme == "temporal" and wide.n_customers >= 200
    # the same span with only 120 customers: under 200 in the slice, so the holdout
    thin = plan_validation(_blocks("purchase", n_customers=120, days=200.0))
    assert thin.scheme == "holdout" and "only" in thin.reason


def test_a_wide_temporal_slice_scores_a_seeded_sample_of_its_customers() -> None:
    frame = _blocks("purchase", n_customers=600, days=200.0)
    whole = plan_validation(frame)
    sampled = plan_validation(frame, max_customers=250)
    assert sampled.scheme == "temporal" and whole.n_customers > 250
    assert sampled.n_customers == 250 and "a seeded sample of 250" in sampled.reason
    assert (sampled.train_mask == whole.train_mask).all()  # every training event kept
    assert not (sampled.target_mask & ~whole.target_mask).any()
    tested = set(frame.customer_id[sampled.target_mask].tolist())
    kept = np.isin(frame.customer_id, list(tested)) & whole.target_mask
    assert (sampled.target_mask == kept).all()  # a sampled customer keeps all their targets
    again = plan_validation(frame, max_customers=250)
    assert (again.target_mask == sampled.target_mask).all()  # seeded


def test_regularisation_is_relative_to_the_weights_scale() -> None:
    x = sp.random(50, 30, density=0.2, format="csr", random_state=0)
    x.data[:] = 1.0
    one = resolve_params({"l2_rel": 3.0, "alpha_rel": 2.0}, x)
    four = resolve_params({"l2_rel": 3.0, "alpha_rel": 2.0}, x * 4.0)
    assert four["l2"] == pytest.approx(16 * one["l2"], rel=1e-3)  # diag(XᵀX) scales by 16
    assert four["alpha"] == pytest.approx(one["alpha"] / 4, rel=1e-3)  # same confidence
    # hence the same model whatever the scale of the weights
    b1 = EASE(l2=one["l2"]).fit(x).B_
    b4 = EASE(l2=four["l2"]).fit(x * 4.0).B_
    np.testing.assert_allclose(b1, b4, atol=1e-5)


def test_dlae_closed_forms() -> None:
    x = sp.random(80, 20, density=0.3, format="csr", random_state=1)
    x.data[:] = 1.0
    g = (x.T @ x).toarray()
    lam = 5.0 + 1.0 * np.diag(g)  # dropout 0.5: p / (1 - p) = 1
    np.testing.assert_allclose(
        DLAE(l2=5.0, dropout=0.5).fit(x).B_, np.linalg.solve(g + np.diag(lam), g), atol=1e-5
    )
    # no dropout and a zero diagonal is EASE
    np.testing.assert_allclose(
        DLAE(l2=5.0, dropout=0.0, zero_diagonal=True).fit(x).B_, EASE(l2=5.0).fit(x).B_, atol=1e-6
    )
    # a head of 8 items: the others get no weights at all
    head = DLAE(l2=5.0, head=8).fit(x).B_
    assert (np.abs(head).sum(axis=0) > 0).sum() == 8
    assert (np.abs(EASE(l2=5.0, head=8).fit(x).B_).sum(axis=0) > 0).sum() == 8


def test_dense_families_fit_a_head_when_the_cost_model_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import training.tuning as tuning

    monkeypatch.setattr(tuning, "dense_head", lambda n_items, seconds: 12)
    result = search_auto(plan_validation(_blocks("purchase")), ("ease", "dlae"), progress=False)
    assert {t["head"] for t in result.trials} == {12}
    assert {t["fitted_params"]["head"] for t in result.trials} == {12}
    # the head made the trials affordable; the chosen model is refitted on the whole catalog
    assert "head" not in result.params
    assert all("head" not in t["params"] for t in result.trials)


def test_search_respects_its_budget() -> None:
    plan = plan_validation(_blocks("purchase"))
    result = search_auto(plan, ("popularity", "itemknn", "als"), budget_s=0.0, progress=False)
    assert len(result.trials) == 1 and result.skipped  # the first candidate, then nothing fits


def test_weights_given_are_not_searched(tmp_path: Path) -> None:
    config = TrainConfig(
        families=("popularity", "itemknn"),
        weights=InteractionWeights(binary=True),
        search_weights=False,
        progress=False,
    )
    meta = read_meta(train_from_frame(_blocks("purchase"), config, tmp_path, "t"))
    assert meta["weights"]["binary"] is True
    assert {t["weighting"] for t in meta["search"]["trials"]} == {"given"}


def test_rating_power_shrinks_the_gaps_between_stars() -> None:
    from recommender.interactions import event_weights

    types = np.array(["rating"] * 3 + ["purchase"], dtype=object)
    values = np.array([1.0, 4.0, 9.0, np.nan])
    zeros = np.zeros(4)
    w = event_weights(types, values, zeros, zeros, InteractionWeights(rating_power=0.5))
    assert w.tolist() == [1.0, 2.0, 3.0, 4.0]  # purchases keep their type weight
    below = InteractionWeights(rating_power=0.5, rating_offset=5.0)
    assert event_weights(types, values, zeros, zeros, below)[:3].tolist() == [-2.0, -1.0, 2.0]
    with pytest.raises(ValueError, match="rating_power"):
        InteractionWeights(rating_power=0.0)


def test_the_holdout_has_search_and_confirmation_folds() -> None:
    plan = plan_validation(_blocks("rating"))
    assert plan.scheme == "holdout" and plan.n_folds == 6 and plan.search_folds == 3
    splits = plan.splits(InteractionWeights())
    assert len(splits) == 3 and len(plan.splits(InteractionWeights(), 6)) == 6
    # independent draws: the folds hold out different items
    assert (splits[0].test != splits[1].test).nnz > 0
    wide = plan_validation(_blocks("purchase", n_customers=600, days=200.0))
    assert wide.scheme == "temporal" and wide.n_folds == 1


def test_families_far_behind_after_the_probe_are_not_searched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import training.tuning as tuning

    monkeypatch.setattr(tuning, "KEEP_SHARE", 1.0)  # only the best family goes on
    plan = plan_validation(_blocks("purchase"))
    result = search_auto(plan, ("popularity", "itemknn", "ease"), progress=False)
    dropped = {s["family"] for s in result.skipped if "probe" in s.get("reason", "")}
    searched = {
        t["family"] for t in result.trials if t["stage"] != "probe" or t["weighting"] != "counted"
    }
    assert len(dropped) == 1 and searched == {result.family} and dropped.isdisjoint(searched)


def test_the_best_candidates_are_confirmed_on_fresh_folds() -> None:
    result = search_auto(plan_validation(_blocks("rating")), FAST, progress=False)
    confirmed = [t for t in result.trials if "confirmed" in t]
    assert 2 <= len(confirmed) <= 3
    best = max(t["confirmed"]["ndcg@10"] for t in confirmed)
    chosen = [
        t
        for t in confirmed
        if (t["family"], t["params"], t["weighting"])
        == (result.family, result.params, result.weighting)
    ]
    # the chosen one is confirmed, and no confirmed candidate beats it on every fold
    assert len(chosen) == 1 and chosen[0]["confirmed"]["ndcg@10"] == best
    # the confirmation pools the search folds with as many fresh ones (about as many users)
    assert 1.8 < chosen[0]["confirmed"]["users"] / chosen[0]["metrics"]["users"] < 2.2


def test_the_leaders_are_refined_on_their_runner_up_weighting_and_between_grid_points() -> None:
    from training.tuning import GRIDS

    families = ("popularity", "ease", "dlae")
    result = search_auto(plan_validation(_blocks("rating")), families, progress=False)
    refined = [t for t in result.trials if t["stage"] == "refine"]
    for fam in ("ease", "dlae"):  # both leading families
        probes = sorted(
            (t for t in result.trials if t["family"] == fam and t["stage"] == "probe"),
            key=lambda t: -t["metrics"]["ndcg@10"],
        )
        # the grid again on the weighting the probes ranked second (the probe point was fitted)
        again = [
            t for t in refined if t["family"] == fam and t["weighting"] == probes[1]["weighting"]
        ]
        assert len(again) == len(list(itertools.product(*GRIDS[fam].values()))) - 1
    # midpoints between a best trial's penalty and its neighbours in its grid
    midpoints = [t for t in refined if t["params"]["l2_rel"] not in GRIDS[t["family"]]["l2_rel"]]
    assert midpoints and {t["params"]["l2_rel"] for t in midpoints} <= {1.73, 5.48, 17.3}
    keys = [(t["family"], repr(sorted(t["params"].items())), t["weighting"]) for t in result.trials]
    assert len(keys) == len(set(keys))  # no candidate is fitted twice (a screen goes on)


def test_the_holdout_is_stratified_by_item() -> None:
    from training.validation import _holdout, positive_mask

    frame = _blocks("purchase")
    # one item only c0 has: nothing could learn it, so it is never a target
    extra = Event("x", "c0", "purchase", 1.3e9, item_id="lonely")
    frame = EventFrame.from_events([*_events_of(frame), extra])
    positive, _ = positive_mask(frame)
    for seed in range(3):
        train, target = _holdout(frame, positive, np.random.default_rng(seed), 3000)
        items, held = frame.item_id, frame.item_id[target]
        for item in set(items.tolist()) - {"lonely"}:
            n = len(set(frame.customer_id[items == item].tolist()))
            got = len(set(frame.customer_id[target & (items == item)].tolist()))
            assert got == max(1, round(0.2 * n))  # a fifth of each item's customers
        assert "lonely" not in set(held.tolist())
        # every customer keeps a training item, and a held-out pair leaves train entirely
        assert set(frame.customer_id[train].tolist()) == set(frame.customer_id.tolist())
        pairs = set(zip(frame.customer_id[train].tolist(), items[train].tolist(), strict=True))
        assert not pairs & set(zip(frame.customer_id[target].tolist(), held.tolist(), strict=True))


def _events_of(frame: EventFrame) -> list[Event]:
    return [
        Event(f"e{n}", c, t, ts, item_id=i)
        for n, (c, t, ts, i) in enumerate(
            zip(frame.customer_id, frame.type, frame.timestamp, frame.item_id, strict=True)
        )
    ]


def _visits_blocks() -> EventFrame:
    """The two blocks, each customer's purchases in three visits of a few minutes each."""
    rng = np.random.default_rng(5)
    events = []
    for c in range(120):
        g = c % 2
        items = rng.choice(15, size=9, replace=False).tolist()
        for k, item in enumerate(items):
            ts = 1.3e9 + (k // 3) * 3 * DAY + k * 60.0
            events.append(Event(f"{c}-{k}", f"c{c}", "purchase", ts, item_id=f"i{g * 15 + item}"))
    return EventFrame.from_events(events)


def test_weightings_are_screened_on_one_fold_and_the_visits_variant_is_one_of_them() -> None:
    plan = plan_validation(_visits_blocks())
    weightings = [
        ("counted", InteractionWeights()),
        ("binary", InteractionWeights(binary=True)),
        ("capped", InteractionWeights(max_weight=4.0)),
        ("half", InteractionWeights(type_weights={"purchase": 2.0})),
    ]
    result = search_auto(plan, ("popularity", "ease"), weightings, progress=False)
    screens = [t for t in result.trials if len(t["fold_scores"]) == 1]
    assert screens and all(t["stage"] == "screen" and t["family"] == "ease" for t in screens)
    names = {t["weighting"] for t in result.trials}
    assert any(n.endswith(" + visits") for n in names)
    # what goes on was fitted on its first fold once, then on the others
    on = [t for t in result.trials if t["stage"] == "probe" and t["weighting"] != "counted"]
    assert on and all(t["folds"] == 3 and len(t["fold_scores"]) == 3 for t in on)
    chosen = [
        t
        for t in result.trials
        if (t["family"], t["params"], t["weighting"])
        == (result.family, result.params, result.weighting)
    ]
    assert chosen[0]["folds"] == 3  # never a one-fold screen
    if result.weighting.endswith(" + visits"):
        assert result.weights is not None and result.weights.session_share > 0


def test_the_refit_keeps_the_penalty_found_on_the_validation_rows(tmp_path: Path) -> None:
    from training.tuning import mean_support

    frame = _blocks("rating")
    config = TrainConfig(families=("popularity", "ease"), progress=False)
    meta = read_meta(train_from_frame(frame, config, tmp_path, "t"))
    searched = meta["search"]["searched_params"]
    weights = InteractionWeights.from_dict(meta["weights"])
    chosen_on = plan_validation(frame).split(weights).train
    expected = float(f"{searched['l2_rel'] * mean_support(chosen_on):.4g}")
    assert meta["params"]["l2"] == pytest.approx(expected)
    # not the penalty re-resolved on all the rows (which have more support per item)
    full, _, _ = build_matrix(frame, weights)
    assert meta["params"]["l2"] < searched["l2_rel"] * mean_support(full)
