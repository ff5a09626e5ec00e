"""Shared fixtures: a fresh store of each backend, and an app client per backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from store.base import Store
from store.redis import RedisStore
from store.sqlite import SQLiteStore

#: Tests of the Redis backend use this database number and a unique key prefix, then delete
#: every key they wrote.
TEST_REDIS_URL = "redis://127.0.0.1:6379/13"


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(TEST_REDIS_URL).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    yield store
    store.close()


@pytest.fixture
def redis_store() -> Iterator[RedisStore]:
    if not redis_available():
        pytest.fail("Redis is not answering on 127.0.0.1:6379 (.ci/run starts it)")
    store = RedisStore(TEST_REDIS_URL, prefix=f"test-{uuid.uuid4().hex[:12]}")
    yield store
    store.clear()  # the shared server keeps nothing of the test's prefix
    store.close()


@pytest.fixture(params=["embedded", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    """The same contract, run against both backends."""
    name = "sqlite_store" if request.param == "embedded" else "redis_store"
    return request.getfixturevalue(name)
