"""Job locks (one retrain per tenant at a time) behave alike on both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store.base import Store
from store.redis import RedisStore
from store.sqlite import SQLiteStore


def twin(store: Store) -> Store:
    """A second connection to the same data, as another process would open it."""
    if isinstance(store, SQLiteStore):
        return SQLiteStore(store.path)
    assert isinstance(store, RedisStore)
    return RedisStore(_url(store), prefix=store.prefix)


def _url(store: RedisStore) -> str:
    kw = store.r.connection_pool.connection_kwargs
    return f"redis://{kw['host']}:{kw['port']}/{kw['db']}"


def test_a_held_lock_refuses_a_second_holder_until_released(store: Store) -> None:
    other = twin(store)
    try:
        token = store.acquire_job_lock("t", "retrain", 60)
        assert token is not None
        assert other.acquire_job_lock("t", "retrain", 60) is None
        assert store.acquire_job_lock("t", "retrain", 60) is None  # not re-entrant either
        # other tenants and other jobs are independent
        t2 = other.acquire_job_lock("t2", "retrain", 60)
        j2 = other.acquire_job_lock("t", "insights", 60)
        assert t2 is not None and j2 is not None
        assert other.release_job_lock("t", "retrain", "not-the-token") is False
        assert other.acquire_job_lock("t", "retrain", 60) is None
        assert store.release_job_lock("t", "retrain", token) is True
        assert store.release_job_lock("t", "retrain", token) is False  # released once
        again = other.acquire_job_lock("t", "retrain", 60)
        assert again is not None
        for tenant, job, tok in (
            ("t", "retrain", again),
            ("t2", "retrain", t2),
            ("t", "insights", j2),
        ):
            assert other.release_job_lock(tenant, job, tok) is True
    finally:
        if other is not store:
            other.close()


HOLD = """
import sys, time
from store.sqlite import SQLiteStore
store = SQLiteStore(sys.argv[1])
assert store.acquire_job_lock("t", "retrain", 60)
print("held", flush=True)
time.sleep(60)
"""


def test_embedded_lock_is_freed_when_its_holder_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "atelier.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, cwd=Path.cwd()
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
        store = SQLiteStore(path)
        assert store.acquire_job_lock("t", "retrain", 60) is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        token = store.acquire_job_lock("t", "retrain", 60)
        assert token is not None and store.release_job_lock("t", "retrain", token)
        store.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_redis_lock_expires_and_the_old_holder_cannot_free_the_new_one(
    redis_store: RedisStore,
) -> None:
    old = redis_store.acquire_job_lock("t", "retrain", 0.2)
    assert old is not None
    time.sleep(0.35)
    new = redis_store.acquire_job_lock("t", "retrain", 60)
    assert new is not None
    assert redis_store.release_job_lock("t", "retrain", old) is False
    assert redis_store.acquire_job_lock("t", "retrain", 60) is None
    assert redis_store.release_job_lock("t", "retrain", new) is True


@pytest.mark.parametrize("name", ["shop/../x", "a b", "é" * 80])
def test_embedded_lock_names_stay_inside_the_lock_folder(tmp_path: Path, name: str) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    token = store.acquire_job_lock(name, "retrain", 60)
    assert token is not None
    assert [p.parent for p in tmp_path.rglob("*.lock")] == [tmp_path / "locks"]
    assert store.release_job_lock(name, "retrain", token)
    store.close()
