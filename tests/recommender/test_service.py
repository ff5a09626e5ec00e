"""The per-worker service's answer cache: one store read on a hit, recomputed when the store's
versions say the customer's state or the catalog changed."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from core.records import Customer, Event, Item
from recommender.interactions import weigh_events
from recommender.policy import DEFAULT_POLICY
from recommender.service import RecommendationService
from store.base import CustomerItems, ServingVersions
from store.embedded import SQLiteStore
from training.train import TrainConfig, train_from_frame

ITEMS = [f"a{i}" for i in range(8)] + [f"b{i}" for i in range(8)]


class CountingStore(SQLiteStore):
    """Counts the reads the service makes per request."""

    reads: list[str]

    def serving_versions(self, tenant: str, customer_id: str) -> ServingVersions:
        self.reads.append("versions")
        return super().serving_versions(tenant, customer_id)

    def get_customer(self, tenant: str, customer_id: str) -> Customer | None:
        self.reads.append("customer")
        return super().get_customer(tenant, customer_id)

    def customer_items(self, tenant: str, customer_id: str) -> CustomerItems:
        self.reads.append("row")
        return super().customer_items(tenant, customer_id)


@pytest.fixture
def service(tmp_path: Path) -> tuple[RecommendationService, CountingStore]:
    store = CountingStore(tmp_path / "s.sqlite3")
    store.reads = []
    store.ensure_tenant("t")
    store.upsert_items("t", [Item(i, category=i[0]) for i in ITEMS])
    events = [
        Event(f"e{c}-{k}", f"c{c}", "purchase", 1e9 + k, item_id=f"{'ab'[c % 2]}{k}")
        for c in range(30)
        for k in range(8)
        if (c + k) % 4
    ]
    store.add_events("t", events, weigh_events(events).tolist())
    folder = train_from_frame(
        store.events_frame("t"),
        TrainConfig(model="ease", params={"l2": 1.0}, progress=False),
        tmp_path / "models",
        "t",
    )
    store.publish_model("t", folder.name, {})
    svc = RecommendationService(store, tmp_path / "models", poll_s=60.0)
    svc.registry.preload()  # the warm-up computes every customer's list
    served = svc.registry.served("t")
    assert served is not None and len(served.answers) == 30
    return svc, store


def test_a_hit_is_one_read_and_the_same_answer(
    service: tuple[RecommendationService, CountingStore],
) -> None:
    svc, store = service
    first = svc.recommend("t", "c0", 3)
    store.reads.clear()
    again = svc.recommend("t", "c0", 3)
    assert again is first and store.reads == ["versions"]
    # filters are applied to the cached list without reading anything more
    beta = svc.recommend("t", "c1", 2, category="b", exclude=["b0"])
    assert [i.item_id[0] for i in beta.items] == ["b", "b"]
    assert "b0" not in {i.item_id for i in beta.items}
    assert store.reads.count("row") == 0


def test_versions_change_the_answer_at_once(
    service: tuple[RecommendationService, CountingStore],
) -> None:
    svc, store = service
    top = svc.recommend("t", "c0", 3).items[0].item_id
    bought = [Event("new1", "c0", "purchase", 2e9, item_id=top)]
    store.add_events("t", bought, weigh_events(bought).tolist())  # as another worker would
    store.reads.clear()
    after = svc.recommend("t", "c0", 3)
    assert top not in {i.item_id for i in after.items}
    assert store.reads == ["versions", "customer", "row"]  # recomputed once, then cached
    store.put_customer("t", Customer("c0", consent_personalization=False))
    assert svc.recommend("t", "c0", 3).fallback == "no_consent"
    gone = svc.recommend("t", "c2", 3).items[0].item_id
    store.delete_item("t", gone)
    assert gone not in {i.item_id for i in svc.recommend("t", "c2", 3).items}


def test_page_sizes_kept_per_customer_are_bounded(
    service: tuple[RecommendationService, CountingStore],
) -> None:
    svc, store = service
    answers = {n: svc.recommend("t", "c0", n) for n in range(1, 9)}
    assert all(len(a.items) == n for n, a in answers.items())
    served = svc.registry.served("t")
    assert served is not None
    entry = served.answers.get(
        "c0",
        store.serving_versions("t", "c0").customer,
        served.catalog_version,
        DEFAULT_POLICY.mask,
    )
    assert entry is not None and sorted(entry.by_n) == [1, 2, 3, 4]
    assert all(entry.by_n[n] is answers[n] for n in (1, 2, 3, 4))


def _tracked_reachable(root: object) -> int:
    """How many objects the cycle collector tracks among those ``root`` reaches (its class
    and what the class reaches left out: they are shared by every instance)."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        obj = pending.pop()
        if id(obj) in seen or not gc.is_tracked(obj) or isinstance(obj, type):
            continue
        seen.add(id(obj))
        pending.extend(gc.get_referents(obj))
    return len(seen)


def test_a_kept_answer_costs_the_collector_a_few_objects_whatever_its_length(
    service: tuple[RecommendationService, CountingStore],
) -> None:
    svc, store = service
    served = svc.registry.served("t")
    assert served is not None
    for n, customer in ((1, "c0"), (8, "c2")):
        answer = svc.recommend("t", customer, n)
        assert len(answer.items) == n and svc.recommend("t", customer, n) is answer
        gc.collect()  # tuples of strings and floats are untracked by a collection
        entry = served.answers.get(
            customer,
            store.serving_versions("t", customer).customer,
            served.catalog_version,
            DEFAULT_POLICY.mask,
        )
        assert entry is not None and entry.by_n[n] is answer
        assert _tracked_reachable(answer) == 1  # the answer itself, not one object per item


def test_the_warm_up_fills_the_cache_with_the_collector_off_and_turns_it_back_on(
    service: tuple[RecommendationService, CountingStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, _ = service
    served = svc.registry.served("t")
    assert served is not None
    seen: list[bool] = []
    precompute = svc._precompute

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return precompute(*args, **kwargs)

    monkeypatch.setattr(svc, "_precompute", recording)
    assert gc.isenabled()
    assert svc._warm("t", served) == 30
    assert seen == [False] * 30 and gc.isenabled()
    gc.disable()  # someone else turned it off (another warm-up): it stays off
    try:
        svc._warm("t", served)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_weighting_the_store_does_not_keep_is_cached_too(tmp_path: Path) -> None:
    """A version trained on ``rating^0.5`` with a half-life rebuilds rows from events: once per
    write (at warm-up, then after an event), never per request, and its answers are the ones
    the exact row gives."""
    import time

    from core.records import EventFrame
    from recommender.interactions import InteractionWeights, history_row, serving_as_of

    class EventCountingStore(CountingStore):
        def customer_events(self, tenant: str, customer_id: str, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.reads.append("events")
            return super().customer_events(tenant, customer_id, *args, **kwargs)

    start = time.time() - 10 * 86400.0
    store = EventCountingStore(tmp_path / "s.sqlite3")
    store.reads = []
    store.ensure_tenant("t")
    store.upsert_items("t", [Item(i, category=i[0]) for i in ITEMS])
    events = [
        Event(
            f"e{c}-{k}",
            f"c{c}",
            "rating",
            start + k * 86400.0,
            item_id=f"{'ab'[c % 2]}{k}",
            value=float(1 + (c * k) % 9),
        )
        for c in range(30)
        for k in range(8)
        if (c + k) % 4
    ]
    store.add_events("t", events, weigh_events(events).tolist())
    weights = InteractionWeights(rating_power=0.5, half_life_days=30.0)
    folder = train_from_frame(
        store.events_frame("t"),
        TrainConfig(model="ease", params={"l2": 1.0}, weights=weights, progress=False),
        tmp_path / "models",
        "t",
    )
    store.publish_model("t", folder.name, {})
    svc = RecommendationService(store, tmp_path / "models", poll_s=60.0)
    svc.registry.preload()
    served = svc.registry.served("t")
    assert served is not None and served.exact_history and len(served.answers) == 30
    store.reads.clear()
    first = svc.recommend("t", "c0", 3)
    assert store.reads == ["versions"]  # a hit: no events read
    own = EventFrame.from_events(store.customer_events("t", "c0"))
    as_of = serving_as_of(served.decay_as_of, own.timestamp)
    hist = history_row(own, served.model.item_index, weights, as_of, DEFAULT_POLICY)
    exact = served.model.recommend_for_history(
        hist.idx, hist.weights, 3, purchased_idx=hist.excluded
    )
    # the same scores (ties among the other group's items may come in any order)
    assert [i.score for i in first.items] == pytest.approx(exact.scores.tolist(), rel=1e-4)
    assert first.items[0].item_id == served.item_id_list[exact.item_idx[0]]
    rated = [
        Event("new", "c0", "rating", start + 9 * 86400.0, item_id=first.items[0].item_id, value=9.0)
    ]
    store.add_events("t", rated, weigh_events(rated).tolist())
    store.reads.clear()
    after = svc.recommend("t", "c0", 3)
    assert first.items[0].item_id not in {i.item_id for i in after.items}
    assert store.reads.count("events") == 1  # rebuilt once from the events, then cached
    store.reads.clear()
    assert svc.recommend("t", "c0", 3) is after and store.reads == ["versions"]


def test_decayed_rows_count_from_the_training_data_not_the_clock(tmp_path: Path) -> None:
    """Years-old events, a half-life and a cap at one purchase: a served row is the row the
    model was trained and validated on (decayed from the last training event), so the answer
    is the offline one; a later event moves the customer's own reference."""
    import numpy as np

    from core.records import EventFrame
    from recommender.interactions import InteractionWeights, build_matrix, history_row

    start = 1.0e9  # 2001: decayed from the clock, every cell would be far below the cap
    store = SQLiteStore(tmp_path / "s.sqlite3")
    store.ensure_tenant("t")
    store.upsert_items("t", [Item(i, category=i[0]) for i in ITEMS])
    rng = np.random.default_rng(5)
    events = [
        Event(
            f"e{c}-{k}",
            f"c{c}",
            "purchase",
            start + float(rng.uniform(0, 200)) * 86400.0,
            item_id=f"{'ab'[c % 2]}{rng.integers(8)}",
        )
        for c in range(40)
        for k in range(12)
    ]
    events.sort(key=lambda e: e.timestamp)
    store.add_events("t", events, weigh_events(events).tolist())
    weights = InteractionWeights(max_weight=4.0, half_life_days=20.0)
    frame = store.events_frame("t")
    folder = train_from_frame(
        frame,
        TrainConfig(model="ease", params={"l2": 2.0}, weights=weights, progress=False),
        tmp_path / "models",
        "t",
    )
    store.publish_model("t", folder.name, {})
    svc = RecommendationService(store, tmp_path / "models", poll_s=60.0, cache_customers=0)
    svc.registry.preload()
    served = svc.registry.served("t")
    assert served is not None and served.decay_as_of == max(e.timestamp for e in events)
    matrix, customers, items = build_matrix(frame, weights)
    model = served.model
    for c in ("c0", "c1", "c7"):
        row = matrix[int(np.flatnonzero(customers == c)[0])]
        idx = np.array([model.item_index[str(items[j])] for j in row.indices])
        offline = model.recommend_for_history(idx, row.data, 3, purchased_idx=idx)
        answer = svc.recommend("t", c, 3)
        assert [i.score for i in answer.items] == pytest.approx(offline.scores.tolist(), rel=1e-4)
    # a purchase after the training data: c0's row now decays from that purchase
    late_ts = served.decay_as_of + 30 * 86400.0
    late = [Event("late", "c0", "purchase", late_ts, item_id="b0")]
    store.add_events("t", late, weigh_events(late).tolist())
    own = EventFrame.from_events(store.customer_events("t", "c0"))
    hist = history_row(own, model.item_index, weights, late_ts, DEFAULT_POLICY)
    expected = model.recommend_for_history(hist.idx, hist.weights, 3, purchased_idx=hist.excluded)
    answer = svc.recommend("t", "c0", 3)
    assert [i.score for i in answer.items] == pytest.approx(expected.scores.tolist(), rel=1e-4)
    svc.close()
    store.close()


def test_a_stated_category_comes_first(
    service: tuple[RecommendationService, CountingStore],
) -> None:
    """c0 buys a-items; once they say they shop for b-items most, b-items lead their list (the
    cached one and the explained one), the a-items still follow, and another customer's list
    is untouched."""
    svc, store = service
    assert svc.recommend("t", "c0", 2).items[0].item_id.startswith("a")
    others = [i.item_id for i in svc.recommend("t", "c2", 4).items]
    answer = {"question_id": "q", "attribute": "preferred_category", "value": "b", "timestamp": 1.0}
    store.put_answer("t", "c0", answer)
    for explain in (False, True):
        items = [i.item_id for i in svc.recommend("t", "c0", 10, explain=explain).items]
        assert len(items) == 10
        firsts = [i[0] for i in items]
        assert firsts == sorted(firsts, key=lambda c: c != "b") and firsts[0] == "b"
        assert "a" in firsts  # a preference, not a filter
    assert [i.item_id for i in svc.recommend("t", "c2", 4).items] == others
    # a category asked for in the request wins over the stated one
    assert {i.item_id[0] for i in svc.recommend("t", "c0", 2, category="a").items} == {"a"}
