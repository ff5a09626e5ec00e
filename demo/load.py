"""Load the demo shop into a store (once: a tenant that already has events is left alone)."""

from __future__ import annotations

from demo.generator import generate
from recommender.history import weigh_events
from store.base import Store


def load_demo(store: Store, tenant: str, seed: int = 7, n_customers: int = 3000) -> bool:
    """Fill ``tenant`` with the demo catalog, customers and a year of events.

    Returns False (and changes nothing) when the tenant already has events.
    """
    store.ensure_tenant(tenant)
    if store.count_events(tenant) > 0:
        return False
    shop = generate(seed=seed, n_customers=n_customers)
    store.upsert_items(tenant, shop.items)
    for customer in shop.customers:
        store.put_customer(tenant, customer)
    weights = weigh_events(shop.events).tolist()
    for start in range(0, len(shop.events), 10_000):
        store.add_events(
            tenant, shop.events[start : start + 10_000], weights[start : start + 10_000]
        )
    return True
