"""Fixtures of the fault tests: a private Redis, a store of either backend for seeding."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.base import Store
from store.redis import RedisStore
from store.sqlite import SQLiteStore
from tests.faults.processes import PrivateRedis


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A redis-server of this test only (never the shared one), stopped by its pid."""
    server = PrivateRedis(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


def backend_env(backend: str, redis_server: PrivateRedis | None) -> dict[str, str]:
    """The server's environment for ``backend`` (the Redis one points at the private server)."""
    if backend == "embedded":
        return {"ATELIER_STORE": "embedded"}
    assert redis_server is not None
    return {"ATELIER_STORE": "redis", "ATELIER_REDIS_URL": redis_server.url}


def open_store(backend: str, data_dir: Path, redis_server: PrivateRedis | None) -> Store:
    """The store the server of :func:`backend_env` uses, opened from the test (to seed it)."""
    if backend == "embedded":
        data_dir.mkdir(parents=True, exist_ok=True)
        return SQLiteStore(data_dir / "atelier.sqlite3")
    assert redis_server is not None
    return RedisStore(redis_server.url, prefix="atelier")


def seed_shop(store: Store, tenant: str, customers: int = 30, items: int = 20) -> None:
    """A small catalog in two categories and a taste per customer (purchases and views)."""
    from core.records import Event, Item
    from events.ingest import ingest

    store.ensure_tenant(tenant)
    store.upsert_items(
        tenant,
        [Item(f"i{k}", category="ab"[k % 2], price=10.0 + k) for k in range(items)],
    )
    events = []
    now = time.time() - 3600
    for c in range(customers):
        for j in range(6):
            item = (c + 3 * j) % items
            kind = "purchase" if j % 2 else "view"
            events.append(Event(f"seed-{c}-{j}", f"c{c}", kind, now + j, item_id=f"i{item}"))
    ingest(store, tenant, events)


def publish(store: Store, data_dir: Path, tenant: str, model: str, params: dict[str, Any]) -> str:
    """Train a version of ``model`` on the tenant's events and publish it (the first one is
    activated by the store); its version name."""
    from training.train import TrainConfig, train_from_frame

    folder = train_from_frame(
        store.events_frame(tenant),
        TrainConfig(model=model, params=params, progress=False),
        data_dir / "models",
        tenant,
    )
    store.publish_model(tenant, folder.name, {"validation": {"ndcg@10": 0.5}})
    return folder.name
