"""The storage contract: both backends (embedded SQLite, real Redis) must pass every test here."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pytest

from core.records import ApiKey, Customer, Event, Item, kind_bit
from store.base import Store


def ev(
    eid: str,
    cid: str = "c1",
    typ: str = "purchase",
    item: str | None = "i1",
    ts: float = 100.0,
    **kw: object,
) -> Event:
    return Event(event_id=eid, customer_id=cid, type=typ, timestamp=ts, item_id=item, **kw)  # type: ignore[arg-type]


def test_ping(store: Store) -> None:
    assert store.ping()


def test_tenants_and_keys(store: Store) -> None:
    assert store.ensure_tenant("t1") is True
    assert store.ensure_tenant("t1") is False
    assert "t1" in store.list_tenants()
    key = ApiKey("k1", "t1", frozenset({"events", "recommend"}), created_at=1.0, label="shop")
    store.put_api_key(key, "hash1")
    got = store.get_api_key("hash1")
    assert got is not None and got.tenant == "t1" and got.scopes == {"events", "recommend"}
    assert got.label == "shop" and not got.revoked
    assert store.get_api_key("nope") is None
    assert [k.key_id for k in store.list_api_keys("t1")] == ["k1"]
    assert store.list_api_keys("other") == []
    assert store.revoke_api_key("k1") is True
    assert store.get_api_key("hash1").revoked  # type: ignore[union-attr]
    assert store.revoke_api_key("missing") is False


def test_rate_limit_counts_per_window(store: Store) -> None:
    now = 1000.5
    assert [store.hit_rate_limit("k", 3, 10, now) for _ in range(3)] == [0.0, 0.0, 0.0]
    retry = store.hit_rate_limit("k", 3, 10, now)
    assert retry == pytest.approx(9.5)
    assert store.hit_rate_limit("other", 3, 10, now) == 0.0  # keys are counted apart
    assert store.hit_rate_limit("k", 3, 10, now + 10) == 0.0  # next window


def test_items_upsert_get_delete(store: Store) -> None:
    v0 = store.catalog_version("t")
    created = store.upsert_items("t", [Item("a", title="A", price=2.5), Item("b", category="x")])
    assert created == [True, True]
    assert store.upsert_items("t", [Item("a", title="A2", attributes={"k": [1, 2]})]) == [False]
    a = store.get_item("t", "a")
    assert a is not None and a.title == "A2" and a.attributes == {"k": [1, 2]} and a.price is None
    assert store.catalog_version("t") > v0
    assert store.get_item("other", "a") is None
    v1 = store.catalog_version("t")
    assert store.delete_item("t", "a") is True
    assert store.delete_item("t", "a") is False
    assert store.get_item("t", "a") is None
    assert store.catalog_version("t") > v1
    assert [i.item_id for i in store.iter_items("t")] == ["b"]
    tomb = {i.item_id: i for i in store.iter_items("t", include_deleted=True)}
    assert tomb["a"].available is False
    assert store.upsert_items("t", [Item("a", title="again")]) == [True]  # re-created


def test_customers_and_managers(store: Store) -> None:
    c = Customer(
        "c1", attributes={"segment": "b2b"}, consent_personalization=False, account_manager="am1"
    )
    assert store.put_customer("t", c) is True
    got = store.get_customer("t", "c1")
    assert got is not None and got.attributes == {"segment": "b2b"}
    assert got.consent_personalization is False and got.account_manager == "am1"
    assert [x.customer_id for x in store.customers_of_manager("t", "am1")] == ["c1"]
    c.account_manager = "am2"
    assert store.put_customer("t", c) is False
    assert store.customers_of_manager("t", "am1") == []
    assert [x.customer_id for x in store.customers_of_manager("t", "am2")] == ["c1"]
    assert store.get_customer("other", "c1") is None
    assert store.customer_known("t", "c1") and not store.customer_known("t", "zz")
    store.put_customer("t", Customer("a0"))
    assert [x.customer_id for x in store.iter_customers("t")] == ["a0", "c1"]
    assert list(store.iter_customers("other")) == []


def test_events_idempotent_and_history(store: Store) -> None:
    events = [
        ev("e1", item="i1", typ="view", ts=10),
        ev("e2", item="i1", typ="purchase", ts=20, quantity=2, value=9.5),
        ev("e3", item="i2", typ="add_to_cart", ts=15, context={"page": "home"}),
        ev("e1", item="i9", typ="view", ts=99),  # repeated in the same batch
    ]
    assert store.add_events("t", events, weights=[1.0, 5.0, 3.0, 1.0]) == [True, True, True, False]
    assert store.add_events("t", events[:2], weights=[1.0, 5.0]) == [False, False]
    assert store.count_events("t") == 3
    got = store.customer_events("t", "c1")
    assert [e.event_id for e in got] == ["e1", "e3", "e2"]  # oldest first
    assert got[1].context == {"page": "home"} and got[2].value == 9.5 and got[2].quantity == 2
    hist = store.customer_items("t", "c1")
    assert hist.item_ids == ["i1", "i2"]
    assert hist.weights == [6.0, 3.0] and hist.purchased == [True, False]
    assert hist.last_ts == [20.0, 15.0]
    assert hist.kinds == [kind_bit("view") | kind_bit("purchase"), kind_bit("add_to_cart")]
    # an impression records no kind; a dislike (weight below zero) does
    store.add_events(
        "t", [ev("e4", item="i3", typ="impression"), ev("e5", item="i4", typ="dislike")], [0.0, -4]
    )
    hist = store.customer_items("t", "c1")
    assert dict(zip(hist.item_ids, hist.kinds, strict=True)) == {
        "i1": kind_bit("view") | kind_bit("purchase"),
        "i2": kind_bit("add_to_cart"),
        "i3": 0,
        "i4": kind_bit("dislike"),
    }
    assert store.customer_known("t", "c1")
    assert store.customer_items("other", "c1").item_ids == []
    assert store.count_events("other") == 0


def test_serving_versions_change_with_what_changes_an_answer(store: Store) -> None:
    assert store.serving_versions("t", "c1") == (0, 0, None)  # nothing recorded yet
    seen = {0}

    def changed() -> int:
        v = store.serving_versions("t", "c1").customer
        assert v not in seen  # never an earlier value again
        seen.add(v)
        return v

    store.add_events("t", [ev("e1", typ="view")], weights=[1.0])
    v1 = changed()
    # an impression (weight 0) and an event without history update leave the answer as it was
    store.add_events("t", [ev("e2", typ="impression", item="i2")], weights=[0.0])
    store.add_events("t", [ev("e3", typ="view")])
    assert store.serving_versions("t", "c1").customer == v1
    store.add_events("t", [ev("e4", typ="purchase", item="i2")], weights=[0.0])  # purchased flag
    changed()
    store.add_events("t", [ev("e5", typ="return", item="i2")], weights=[-4.0])
    changed()
    store.put_customer("t", Customer("c1", consent_personalization=False))
    changed()
    # one batch for two customers: each gets a new version; others keep theirs
    other = store.serving_versions("t", "c3").customer
    store.add_events("t", [ev("e6", typ="view"), ev("e7", cid="c2", typ="view")], weights=[1, 1])
    changed()
    assert store.serving_versions("t", "c2").customer > 0
    assert store.serving_versions("t", "c3").customer == other
    assert store.serving_versions("other", "c1") == (0, 0, None)  # tenants apart
    # the catalog version is the same counter as catalog_version()
    store.upsert_items("t", [Item("i1")])
    assert store.serving_versions("t", "c1").catalog == store.catalog_version("t") > 0
    # erased: an absent customer reads as minus the erasure count, unlike any cached version
    assert store.erase_customer("t", "c1")
    erased = store.serving_versions("t", "c1").customer
    assert erased < 0 and erased not in seen
    assert store.serving_versions("t", "nobody").customer == erased
    assert store.erase_customer("t", "c1") is False  # nothing held: nothing changes
    assert store.serving_versions("t", "c1").customer == erased


def test_events_frame_filters(store: Store) -> None:
    store.add_events(
        "t",
        [
            ev("a", cid="x", typ="purchase", ts=5, value=3.0),
            ev("b", cid="y", typ="view", ts=1),
            ev("c", cid="x", typ="configure", item=None, ts=9),
        ],
    )
    f = store.events_frame("t")
    assert f.timestamp.tolist() == [1.0, 5.0, 9.0]
    assert f.item_id.tolist() == ["i1", "i1", ""]
    assert math.isnan(f.value[0]) and f.value[1] == 3.0
    assert store.events_frame("t", types=["purchase"]).customer_id.tolist() == ["x"]
    assert len(store.events_frame("t", before=5.0)) == 1
    assert len(store.events_frame("nobody")) == 0


def test_erase_customer_removes_every_trace(store: Store) -> None:
    store.put_customer("t", Customer("c1", account_manager="am"))
    store.add_events("t", [ev("e1"), ev("e2", item="i2")], weights=[1.0, 1.0])
    store.add_events("t", [ev("keep", cid="c2")], weights=[1.0])
    store.save_configuration("t", "c1", {"code": "X"})
    store.put_insights_rows("t", {"c1": {"tier": "MVC"}})
    assert store.erase_customer("t", "c1") is True
    assert store.get_customer("t", "c1") is None
    assert store.customer_events("t", "c1") == []
    assert store.customer_items("t", "c1").item_ids == []
    assert store.list_configurations("t", "c1") == []
    assert store.get_insights_row("t", "c1") is None
    assert store.customers_of_manager("t", "am") == []
    assert not store.customer_known("t", "c1")
    assert store.events_frame("t").customer_id.tolist() == ["c2"]
    assert store.count_events("t") == 1
    assert store.erase_customer("t", "c1") is False
    # After erasure the event ids are forgotten too: re-sending is a new event, not a duplicate.
    assert store.add_events("t", [ev("e1")]) == [True]


def test_models_registry(store: Store) -> None:
    assert store.active_model("t") is None
    store.publish_model("t", "v1", {"ndcg@10": 0.1})
    assert store.active_model("t") == "v1"  # the first one becomes active
    store.publish_model("t", "v2", {"ndcg@10": 0.2})
    assert store.active_model("t") == "v1"
    assert store.activate_model("t", "v2") is True
    assert store.activate_model("t", "nope") is False
    models = store.list_models("t")
    assert [(m.version, m.active) for m in models] == [("v1", False), ("v2", True)]
    assert models[1].metrics == {"ndcg@10": 0.2}
    assert store.list_models("other") == []


def test_insights(store: Store) -> None:
    store.put_insights(
        "t", {"pareto": {"top20_share": 0.7}}, {"a": {"tier": "MVC"}, "b": {"tier": "BZ"}}
    )
    assert store.get_insights_summary("t") == {"pareto": {"top20_share": 0.7}}
    assert store.get_insights_row("t", "a") == {"tier": "MVC"}
    store.put_insights("t", {"v": 2}, {"b": {"tier": "standard"}})  # replaces every row
    assert store.get_insights_row("t", "a") is None
    store.put_insights_rows("t", {"a": {"tier": "MGC"}})
    assert store.get_insights_row("t", "a") == {"tier": "MGC"}
    assert store.get_insights_summary("other") is None


def test_families_and_configurations(store: Store) -> None:
    assert store.put_family("t", "jeans", {"v": 1}) == 1
    assert store.put_family("t", "jeans", {"v": 2}) == 2
    assert store.get_family("t", "jeans") == (2, {"v": 2})
    assert store.get_family("t", "jeans", 1) == (1, {"v": 1})
    assert store.get_family("t", "jeans", 3) is None
    assert store.list_families("t") == {"jeans": 2}
    assert store.get_family("other", "jeans") is None
    a = store.save_configuration("t", "c1", {"code": "A"})
    b = store.save_configuration("t", "c1", {"code": "B"})
    got = store.list_configurations("t", "c1")
    assert [(g["configuration_id"], g["code"]) for g in got] == [(a, "A"), (b, "B")]
    assert store.list_configurations("other", "c1") == []


def test_concurrent_batches_count_each_event_once(store: Store) -> None:
    batches = [
        [ev(f"e{i}", cid=f"c{i % 7}", ts=float(i)) for i in range(j, j + 200)]
        for j in range(0, 1000, 100)
    ]  # overlapping batches
    results: list[list[bool]] = []

    def send(batch: list[Event]) -> None:
        results.append(store.add_events("t", batch, weights=[1.0] * len(batch)))

    threads = [threading.Thread(target=send, args=(b,)) for b in batches]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(sum(r) for r in results) == 1100  # e0..e1099, each counted once
    assert store.count_events("t") == 1100
    total = sum(sum(store.customer_items("t", f"c{k}").weights) for k in range(7))
    assert total == pytest.approx(1100.0)
    assert np.all(np.diff(store.events_frame("t").timestamp) >= 0)
    assert time.time() > 0


def test_catalog_changes_since_a_version(store: Store) -> None:
    v0, changed = store.items_changed_since("t", 0)
    assert (v0, changed) == (0, [])
    store.upsert_items("t", [Item("a", category="x"), Item("b")])
    v1, changed = store.items_changed_since("t", v0)
    assert v1 > v0 and sorted(i.item_id for i in changed) == ["a", "b"]
    store.delete_item("t", "a")
    store.upsert_items("t", [Item("c", available=False)])
    v2, changed = store.items_changed_since("t", v1)
    assert v2 > v1 and v2 == store.catalog_version("t")
    assert sorted((i.item_id, i.available) for i in changed) == [("a", False), ("c", False)]
    assert store.items_changed_since("t", v2) == (v2, [])
    assert store.items_changed_since("other", 0) == (0, [])


def test_iter_events_keeps_context(store: Store) -> None:
    store.add_events(
        "t",
        [
            ev("a", typ="impression", context={"model_version": "v1"}),
            ev("b", typ="purchase"),
        ],
    )
    got = {e.event_id: e for e in store.iter_events("t")}
    assert got["a"].context == {"model_version": "v1"} and got["b"].context is None
    assert [e.event_id for e in store.iter_events("t", types=["purchase"])] == ["b"]
    assert list(store.iter_events("other")) == []


def test_tenant_config(store: Store) -> None:
    assert store.get_tenant_config("t") == {}
    before = store.catalog_version("t")
    store.put_tenant_config("t", {"allow_repurchase": True})
    assert store.get_tenant_config("t") == {"allow_repurchase": True}
    # serving caches keyed by the catalog version see the new policy
    assert store.catalog_version("t") > before
    assert store.serving_versions("t", "c1").catalog == store.catalog_version("t")
    assert store.items_changed_since("t", before) == (store.catalog_version("t"), [])
    assert store.get_tenant_config("other") == {}


def test_configuration_and_its_event_are_saved_together(store: Store) -> None:
    event = ev("configuration:k1", typ="configure", item=None, context={"code": "X"})
    cid = store.save_configuration("t", "c1", {"code": "X"}, configuration_id="k1", event=event)
    assert cid == "k1"
    assert [c["configuration_id"] for c in store.list_configurations("t", "c1")] == ["k1"]
    assert [e.event_id for e in store.customer_events("t", "c1")] == ["configuration:k1"]
    assert store.add_events("t", [event]) == [False]  # already stored: a duplicate


def test_events_of_several_customers_and_rows_in_bulk(store: Store) -> None:
    store.add_events(
        "t",
        [
            ev("a", cid="x", typ="purchase", ts=5),
            ev("b", cid="y", typ="view", ts=1),
            ev("c", cid="y", typ="purchase", ts=3),
            ev("d", cid="z", typ="purchase", ts=2),
        ],
    )
    f = store.customers_events_frame("t", ["y", "x", "y"], types=["purchase"])
    assert f.customer_id.tolist() == ["y", "x"] and f.timestamp.tolist() == [3.0, 5.0]
    assert len(store.customers_events_frame("t", [])) == 0
    store.put_insights_rows("t", {"x": {"tier": "MVC"}, "y": {"tier": "BZ"}})
    store.put_insights_rows("t", {"y": {"tier": "standard"}})
    assert store.get_insights_row("t", "x") == {"tier": "MVC"}
    assert store.get_insights_row("t", "y") == {"tier": "standard"}


def test_update_customer_never_loses_a_concurrent_write(store: Store) -> None:
    """A write that lands between update_customer's read and its write is kept: on Redis the
    update starts again from fresh reads, on SQLite the other writer waits for the commit."""
    store.put_customer("t", Customer("c1", {"segment": "trade"}))

    def set_attribute(key: str) -> Callable[[Customer | None], Customer]:
        def change(c: Customer | None) -> Customer:
            assert c is not None
            return replace(c, attributes={**c.attributes, key: True})

        return change

    other = threading.Thread(target=store.update_customer, args=("t", "c1", set_attribute("b")))
    runs: list[int] = []

    def slow_a(c: Customer | None) -> Customer:
        runs.append(1)
        if len(runs) == 1:  # while this update holds what it read, another one writes
            other.start()
            time.sleep(0.3)
        return set_attribute("a")(c)

    created, stored = store.update_customer("t", "c1", slow_a)
    other.join()
    assert not created and stored.attributes["a"] is True
    got = store.get_customer("t", "c1")
    assert got is not None and got.attributes == {"segment": "trade", "a": True, "b": True}
    created, fresh = store.update_customer("t", "c2", lambda c: Customer("c2", {"new": c is None}))
    assert created and fresh.attributes == {"new": True} and fresh.created_at is not None
