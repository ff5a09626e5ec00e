"""Customer profiles as one service: what the customer endpoints do, without HTTP.

A customer exists for a tenant when it has a profile or at least one event; one known only
through its events reads as a default profile (``has_profile`` false). Erasure removes every
trace in the store, then tells the listeners (the serving caches). The export gathers
everything held about one customer (data portability).

Examples
--------
>>> from events.ingest import Listeners
>>> from store import open_store
>>> from core.records import Customer
>>> import tempfile, pathlib
>>> store = open_store("embedded", sqlite_path=pathlib.Path(tempfile.mkdtemp()) / "s.sqlite3")
>>> customers = CustomerService(store, Listeners())
>>> created, view = customers.put("shop", Customer("c1", {"city": "Lyon"}))
>>> created, view.has_profile, customers.get("shop", "c1").customer.attributes
(True, True, {'city': 'Lyon'})
>>> customers.erase("shop", "c1"); customers.get("shop", "c1")
Traceback (most recent call last):
...
core.errors.NotFound: customer 'c1' not found
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.errors import NotFound
from core.records import Customer, Event
from events.ingest import Listeners
from store import CustomerItems, Store


def _not_found(customer_id: str) -> NotFound:
    return NotFound(f"customer '{customer_id}' not found")


@dataclass(frozen=True, slots=True)
class CustomerView:
    """A customer as the tenant sees it: the stored profile, or a default one (events only)."""

    customer: Customer
    has_profile: bool


@dataclass(frozen=True, slots=True)
class CustomerRecords:
    """Everything held about one customer."""

    customer_id: str
    profile: Customer | None
    events: list[Event]
    history: CustomerItems
    configurations: list[dict[str, Any]]
    insights: dict[str, Any] | None


class CustomerService:
    """Reads, writes, erasure and export of customer profiles; raises :class:`NotFound`."""

    def __init__(self, store: Store, listeners: Listeners) -> None:
        self.store = store
        self.listeners = listeners

    def get(self, tenant: str, customer_id: str) -> CustomerView:
        """The profile, a default one for a customer known only by events, or NotFound."""
        customer = self.store.get_customer(tenant, customer_id)
        if customer is not None:
            return CustomerView(customer, has_profile=True)
        if self.store.customer_known(tenant, customer_id):
            return CustomerView(Customer(customer_id), has_profile=False)
        raise _not_found(customer_id)

    def put(self, tenant: str, customer: Customer) -> tuple[bool, CustomerView]:
        """Create or replace a profile: (created, the profile as stored)."""
        created = self.store.put_customer(tenant, customer)
        return created, self.get(tenant, customer.customer_id)

    def erase(self, tenant: str, customer_id: str) -> None:
        """Erase every trace of the customer, then tell the listeners; NotFound if none."""
        if not self.store.erase_customer(tenant, customer_id):
            raise _not_found(customer_id)
        self.listeners.customer_erased(tenant, customer_id)

    def export(self, tenant: str, customer_id: str) -> CustomerRecords:
        """Everything held about the customer; NotFound when there is neither profile nor event."""
        profile = self.store.get_customer(tenant, customer_id)
        events = self.store.customer_events(tenant, customer_id)
        if profile is None and not events:
            raise _not_found(customer_id)
        return CustomerRecords(
            customer_id=customer_id,
            profile=profile,
            events=events,
            history=self.store.customer_items(tenant, customer_id),
            configurations=self.store.list_configurations(tenant, customer_id),
            insights=self.store.get_insights_row(tenant, customer_id),
        )
