"""The customer service on both backends: who exists, erasure and its listeners, the export."""

from __future__ import annotations

import pytest

from core.errors import NotFound
from core.records import Customer, Event
from customers import CustomerService
from events.ingest import Listeners, ingest
from store.base import Store


@pytest.fixture
def erased() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def customers(store: Store, erased: list[tuple[str, str]]) -> CustomerService:
    listeners = Listeners(on_erasure=[lambda tenant, cid: erased.append((tenant, cid))])
    return CustomerService(store, listeners)


def test_a_customer_known_by_events_only_reads_as_a_default_profile(
    store: Store, customers: CustomerService
) -> None:
    ingest(store, "shop", [Event("e1", "c1", "view", 1.3e9, item_id="i1")])
    view = customers.get("shop", "c1")
    assert view.customer == Customer("c1") and not view.has_profile
    with pytest.raises(NotFound, match="customer 'c2' not found"):
        customers.get("shop", "c2")
    with pytest.raises(NotFound):
        customers.get("other", "c1")  # another tenant's customer does not exist here


def test_put_creates_then_replaces(customers: CustomerService) -> None:
    created, view = customers.put("shop", Customer("c1", {"tier": "gold"}, account_manager="am1"))
    assert created and view.has_profile and view.customer.account_manager == "am1"
    created, view = customers.put("shop", Customer("c1", {"tier": "silver"}))
    assert not created and view.customer.attributes == {"tier": "silver"}
    assert view.customer.account_manager is None


def test_erase_removes_everything_then_tells_the_listeners(
    store: Store, customers: CustomerService, erased: list[tuple[str, str]]
) -> None:
    customers.put("shop", Customer("c1"))
    ingest(store, "shop", [Event("e1", "c1", "purchase", 1.3e9, item_id="i1", value=5.0)])
    records = customers.export("shop", "c1")
    assert [e.event_id for e in records.events] == ["e1"]
    assert records.history.item_ids == ["i1"] and records.profile is not None
    customers.erase("shop", "c1")
    assert erased == [("shop", "c1")]
    with pytest.raises(NotFound):
        customers.export("shop", "c1")
    with pytest.raises(NotFound):
        customers.erase("shop", "c1")
    assert erased == [("shop", "c1")]  # nothing erased, nobody told
