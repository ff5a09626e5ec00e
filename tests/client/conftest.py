"""A live ``atelier serve`` per store for the client's tests: a small shop seeded through the
store (two categories, 30 customers, an EASE version published), keys of every scope.

The Redis one runs on the shared server (127.0.0.1:6379, the tests' database) under a key
prefix of its own, deleted after the module.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from access.keys import create_key, parse_scopes
from store.base import Store
from store.redis import RedisStore
from store.sqlite import SQLiteStore
from tests.conftest import TEST_REDIS_URL, redis_available
from tests.faults.conftest import publish, seed_shop
from tests.faults.processes import Server

TENANT = "shop"


@dataclass(frozen=True)
class Live:
    """A running server, its store's name and the secrets of the test's keys."""

    url: str
    backend: str
    admin: str  # every scope
    reader: str  # recommend only
    server: Server


def seed(store: Store, data: Path) -> tuple[str, str]:
    """The shop, its first model version, and two keys: one of every scope, one read-only."""
    _, admin = create_key(
        store, TENANT, parse_scopes("events,catalog,customers,recommend,configure,admin")
    )
    _, reader = create_key(store, TENANT, parse_scopes("recommend"))
    seed_shop(store, TENANT)
    publish(store, data, TENANT, "ease", {"l2": 1.0})
    return admin, reader


@pytest.fixture(scope="module", params=["embedded", "redis"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    data = tmp_path_factory.mktemp(f"client-{request.param}")
    env = {"ATELIER_STORE": request.param}
    store: Store
    if request.param == "embedded":
        store = SQLiteStore(data / "atelier.sqlite3")
    else:
        if not redis_available():
            pytest.fail("Redis is not answering on 127.0.0.1:6379 (.ci/run starts it)")
        prefix = f"test-client-{uuid.uuid4().hex[:10]}"
        store = RedisStore(TEST_REDIS_URL, prefix=prefix)
        env |= {"ATELIER_REDIS_URL": TEST_REDIS_URL, "ATELIER_REDIS_PREFIX": prefix}
    try:
        admin, reader = seed(store, data)
        server = Server(data, env).start(ready=True)
        try:
            yield Live(server.url, request.param, admin, reader, server)
        finally:
            server.stop()
    finally:
        if isinstance(store, RedisStore):
            store.clear()  # the shared server keeps nothing of the test's prefix
        store.close()
