"""Merging customers on both backends: everything moves at once, the old ids become aliases,
and erasing the merged customer leaves nothing of any of its ids."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.records import Customer, Event, Item
from store.base import Store
from tests.store.test_erasure import traces


def _ev(eid: str, cid: str, item: str = "i1", typ: str = "view", ts: float = 100.0) -> Event:
    return Event(eid, cid, typ, ts, item_id=item)


def _fill(store: Store, cid: str, *, ts: float = 100.0, manager: str = "am") -> None:
    store.put_customer("t", Customer(cid, {"from": cid, cid: True}, account_manager=manager))
    store.add_events(
        "t", [_ev(f"{cid}-e1", cid, "i1", "purchase", ts), _ev(f"{cid}-e2", cid, "i2")], [2.0, 1.0]
    )
    store.save_configuration("t", cid, {"code": "X"}, configuration_id=f"{cid}-cfg")
    store.add_contact("t", cid, {"contact_id": f"{cid}-k", "timestamp": ts})
    store.put_case("t", cid, {"case_id": f"{cid}-s", "opened_at": ts})
    store.put_answer("t", cid, {"question_id": "size", "value": cid, "timestamp": ts})
    store.put_insights_rows("t", {cid: {"tier": "MVC"}})


def test_merge_moves_everything_and_leaves_aliases(store: Store) -> None:
    _fill(store, "a", ts=100.0)
    _fill(store, "b", ts=200.0, manager="bm")
    before = store.serving_versions("t", "a").customer, store.serving_versions("t", "b").customer

    counts = store.merge_customers("t", "a", ["b"])

    assert (counts.events, counts.contacts, counts.cases, counts.configurations) == (2, 1, 1, 1)
    assert counts.profiles == 1 and counts.history_items == 2 and counts.answers == 1
    assert {e.event_id for e in store.customer_events("t", "a")} == {"a-e1", "a-e2", "b-e1", "b-e2"}
    assert all(e.customer_id == "a" for e in store.customer_events("t", "a"))
    assert store.customer_events("t", "b") == []
    history = store.customer_items("t", "a")
    assert history.item_ids == ["i1", "i2"] and history.weights == [4.0, 2.0]
    assert history.purchased == [True, False] and history.last_ts == [200.0, 100.0]
    assert store.customer_items("t", "b").item_ids == []
    assert [c["configuration_id"] for c in store.list_configurations("t", "a")] == [
        "a-cfg",
        "b-cfg",
    ]
    assert [c["contact_id"] for c in store.list_contacts("t", "a")] == ["b-k", "a-k"]
    assert store.get_case("t", "b-s") == ("a", {"case_id": "b-s", "opened_at": 200.0})
    assert [x["value"] for x in store.list_answers("t", "a")] == ["b"]  # the later answer
    profile = store.get_customer("t", "a")
    assert profile is not None and profile.attributes == {"from": "a", "a": True, "b": True}
    assert profile.account_manager == "am"
    assert store.get_customer("t", "b") is None
    assert [c.customer_id for c in store.customers_of_manager("t", "bm")] == []
    assert store.get_insights_row("t", "b") is None
    assert store.resolve_customers("t", ["a", "b", "zz"]) == {"b": "a"}
    assert store.aliases_of("t", "a") == ["b"]
    after = store.serving_versions("t", "a").customer, store.serving_versions("t", "b").customer
    assert after[0] > max(before) and after[1] > max(before)
    # an event sent under the alias lands on the merged customer
    assert store.add_events("t", [_ev("late", "b", "i3")], [1.0]) == [True]
    assert [e.customer_id for e in store.customer_events("t", "a") if e.event_id == "late"] == ["a"]
    assert store.customer_events("t", "b") == []
    assert "i3" in store.customer_items("t", "a").item_ids
    # merging a customer that has aliases passes them on: no alias of an alias
    _fill(store, "c")
    store.merge_customers("t", "c", ["a"])
    assert store.resolve_customers("t", ["a", "b"]) == {"a": "c", "b": "c"}
    assert store.aliases_of("t", "c") == ["a", "b"]
    assert store.aliases_of("t", "a") == []


def test_merge_into_a_customer_without_profile(store: Store) -> None:
    store.add_events("t", [_ev("x1", "x")], [1.0])
    store.put_customer("t", Customer("y", {"k": 1}, account_manager="m"))
    store.merge_customers("t", "x", ["y"])
    profile = store.get_customer("t", "x")
    assert profile is not None and profile.attributes == {"k": 1}
    assert [c.customer_id for c in store.customers_of_manager("t", "m")] == ["x"]


def test_an_alias_reads_the_serving_versions_of_the_customer_it_was_merged_into(
    store: Store,
) -> None:
    _fill(store, "a")
    _fill(store, "b")
    store.upsert_items("t", [Item("i1")])
    before = store.serving_versions("t", "a")
    assert before.merged_into is None and store.serving_versions("t", "b").merged_into is None

    store.merge_customers("t", "a", ["b"])

    merged = store.serving_versions("t", "a")
    assert merged.customer != before.customer  # the merge changed a's answer
    assert store.serving_versions("t", "b") == (merged.catalog, merged.customer, "a")
    store.add_events("t", [_ev("later", "a", "i2", "purchase", 300.0)], [1.0])
    assert store.serving_versions("t", "b").customer == store.serving_versions("t", "a").customer
    # a merge of the merged customer: the old alias follows to the last survivor
    store.merge_customers("t", "z", ["a"])
    assert store.serving_versions("t", "b").merged_into == "z"
    assert store.serving_versions("other", "b") == (0, 0, None)  # tenants apart


@pytest.mark.parametrize("ids", [["m1"], ["m1", "m2"], ["m1", "m2", "m3"]])
def test_erasing_a_merged_customer_erases_its_aliases(store: Store, ids: list[str]) -> None:
    for cid in ["keep", "root", *ids]:
        _fill(store, cid)
    store.merge_customers("t", "root", ids)
    assert store.erase_customer("t", "root")
    assert store.resolve_customers("t", ids) == {}
    for needle in ["root", *ids]:
        assert traces(store, "t", needle) == []
    assert traces(store, "t", "keep")


_IDS = st.sampled_from(["p", "q", "r", "s"])


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    merges=st.lists(st.tuples(_IDS, st.lists(_IDS, min_size=1, max_size=3)), max_size=3),
    erased=_IDS,
)
def test_merge_then_erase_leaves_nothing(
    store: Store, merges: list[tuple[str, list[str]]], erased: str
) -> None:
    """Whatever merges happened, erasing a customer (by its final id) leaves no trace of it or
    of any id merged into it."""
    tenant = "t"
    for cid in ["p", "q", "r", "s"]:
        store.erase_customer(tenant, cid)
        for alias in store.aliases_of(tenant, cid):
            store.erase_customer(tenant, alias)
    for cid in ["p", "q", "r", "s"]:
        _fill(store, f"{cid}")
    absorbed: dict[str, set[str]] = {c: {c} for c in "pqrs"}
    for into, sources in merges:
        resolved = store.resolve_customers(tenant, [into, *sources])
        target = resolved.get(into, into)
        srcs = {resolved.get(s, s) for s in sources} - {target}
        if not srcs:
            continue
        store.merge_customers(tenant, target, sorted(srcs))
        for s in srcs:
            absorbed[target] |= absorbed.pop(s)
    final = store.resolve_customers(tenant, [erased]).get(erased, erased)
    assert store.erase_customer(tenant, final)
    for cid in absorbed[final]:
        assert traces(store, tenant, f"{cid}-") == [], cid
        assert store.resolve_customers(tenant, [cid]) == {}
    for other in set(absorbed) - {final}:
        assert store.get_customer(tenant, other) is not None
