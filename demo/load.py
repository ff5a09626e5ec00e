"""Load the demo shop into a store (once: a tenant that already has events is left alone)."""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

from demo.dialogue import load_dialogue, with_consent
from demo.generator import generate
from events.ingest import ingest
from recommender.artifacts import read_meta
from store.base import Store
from training.insights import run_insights_job
from training.train import TrainConfig, train_from_frame


def load_demo(store: Store, tenant: str, seed: int = 7, n_customers: int = 3000) -> bool:
    """Fill ``tenant`` with the demo catalog, customers (with consent per channel) and a year of
    events, the dialogue (question bank, contacts, complaints, answers, two merged customers:
    :mod:`demo.dialogue`), and its insights.

    Returns False (and changes nothing) when the tenant already has events.
    """
    store.ensure_tenant(tenant)
    if store.count_events(tenant) > 0:
        return False
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    shop = generate(seed=seed, n_customers=n_customers, end=end)
    customers = with_consent(shop.customers, seed)
    store.upsert_items(tenant, shop.items)
    store.put_customers(tenant, customers)
    for start in range(0, len(shop.events), 10_000):
        ingest(store, tenant, shop.events[start : start + 10_000])
    load_dialogue(store, tenant, customers, end)
    demo_insights(store, tenant)
    return True


def demo_insights(store: Store, tenant: str) -> bool:
    """Run the customer-value job for the demo tenant as of now (what ``atelier insights`` does).

    Skipped when the tenant already has insights or too few buyers to fit the models (a warning
    says so). Returns True when insights were computed and stored.
    """
    if store.get_insights_summary(tenant):
        return False
    try:
        run_insights_job(store, tenant, time.time())
    except ValueError as exc:
        warnings.warn(
            f"demo tenant '{tenant}' has no insights: {exc}", RuntimeWarning, stacklevel=2
        )
        return False
    return True


def demo_model(store: Store, tenant: str, models_dir: Path) -> str | None:
    """Train and publish the demo tenant's first recommendation model (EASE, strong on a small
    catalog; segments from the customers' ``segment`` attribute). Skipped when one is active;
    returns the new version."""
    if store.active_model(tenant) is not None:
        return None
    segments = {
        c.customer_id: str(c.attributes["segment"])
        for c in store.iter_customers(tenant)
        if c.attributes.get("segment") is not None
    }
    config = TrainConfig(model="ease", params={"l2": 50.0}, progress=False, validate=True)
    folder = train_from_frame(
        store.events_frame(tenant), config, models_dir, tenant, segments=segments or None
    )
    metrics = read_meta(folder).get("metrics", {})
    store.publish_model(tenant, folder.name, metrics)
    return folder.name
