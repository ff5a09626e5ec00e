"""Load the demo shop into a store (once: a tenant that already has events is left alone)."""

from __future__ import annotations

import time
import warnings

from demo.generator import generate
from recommender.history import weigh_events
from store.base import Store
from training.value.job import compute_insights


def load_demo(store: Store, tenant: str, seed: int = 7, n_customers: int = 3000) -> bool:
    """Fill ``tenant`` with the demo catalog, customers and a year of events, and its insights.

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
    demo_insights(store, tenant)
    return True


def demo_insights(store: Store, tenant: str, *, force: bool = False) -> bool:
    """Run the customer-value job for the demo tenant as of now (what ``atelier insights`` does).

    Skipped when the tenant already has insights (unless ``force``) or too few buyers to fit the
    models (a warning says so). Returns True when insights were computed and stored.
    """
    if not force and store.get_insights_summary(tenant):
        return False
    now = time.time()
    frame = store.events_frame(tenant, types=("purchase", "return"), before=now)
    try:
        result = compute_insights(frame, now)
    except ValueError as exc:
        warnings.warn(f"demo tenant '{tenant}' has no insights: {exc}", RuntimeWarning, stacklevel=2)
        return False
    store.put_insights(tenant, result.to_dict(), result.rows)
    return True
