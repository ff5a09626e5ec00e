"""Merging customers through the service: refusals name the field and write nothing; aliases
answer the merged profile; erasing the merged customer forgets every id."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, NotFound
from core.records import Customer, Event
from customers import CustomerService
from events.ingest import Listeners
from store.base import Store


@pytest.fixture
def customers(store: Store) -> CustomerService:
    for cid in ("a", "b", "c"):
        store.put_customer("t", Customer(cid, {cid: 1}))
        store.add_events("t", [Event(f"{cid}-1", cid, "purchase", 1.0, item_id="i")], [1.0])
    store.put_customer("other", Customer("x"))
    return CustomerService(store, Listeners())


def _loc(exc: pytest.ExceptionInfo[InvalidInput]) -> list[object]:
    return [e["loc"] for e in exc.value.errors]


def test_merge_and_lookups_by_alias(customers: CustomerService, store: Store) -> None:
    told: list[tuple[str, str, list[str]]] = []
    customers.on_merge.append(lambda t, into, srcs: told.append((t, into, srcs)))
    counts = customers.merge("t", "a", ["b"])
    assert counts.events == 1 and told == [("t", "a", ["b"])]
    view = customers.get("t", "b")
    assert view.customer.customer_id == "a" and view.customer.attributes == {"a": 1, "b": 1}
    assert customers.export("t", "b").aliases == ["b"]


def test_refusals_name_the_field_and_write_nothing(
    customers: CustomerService, store: Store
) -> None:
    with pytest.raises(InvalidInput) as itself:
        customers.merge("t", "a", ["a"])
    assert _loc(itself) == [["body", "from", 0]]
    with pytest.raises(InvalidInput) as twice:
        customers.merge("t", "a", ["b", "b"])
    assert _loc(twice) == [["body", "from", 1]]
    with pytest.raises(NotFound):
        customers.merge("t", "a", ["x"])  # another tenant's id: unknown here
    with pytest.raises(NotFound):
        customers.merge("t", "nobody", ["b"])
    with pytest.raises(InvalidInput):
        customers.merge("t", "a", [])
    assert store.aliases_of("t", "a") == [] and store.get_customer("t", "b") is not None
    customers.merge("t", "a", ["b"])
    with pytest.raises(InvalidInput) as cycle:
        customers.merge("t", "b", ["a"])  # b is an alias of a: a cycle
    assert _loc(cycle) == [["path", "customer_id"]]
    with pytest.raises(InvalidInput) as again:
        customers.merge("t", "c", ["b"])
    assert _loc(again) == [["body", "from", 0]]


def test_erasing_the_merged_customer_forgets_every_id(customers: CustomerService) -> None:
    forgotten: list[str] = []
    customers.listeners.on_erasure.append(lambda t, cid: forgotten.append(cid))
    customers.merge("t", "a", ["b", "c"])
    customers.erase("t", "c")  # by an alias: the customer it names
    assert sorted(forgotten) == ["a", "b", "c"]
    for cid in ("a", "b", "c"):
        with pytest.raises(NotFound):
            customers.get("t", cid)
