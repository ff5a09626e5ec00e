"""Outages answer 503: a store that cannot answer raises ``Unavailable``, then recovers.

Redis outages are real: a private ``redis-server`` on a free port, started and stopped by pid
(never the shared one). SQLite's is a writer that holds the file's lock beyond the busy timeout.
"""

from __future__ import annotations

import shutil
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from access.keys import create_key, parse_scopes
from api.main import create_app
from core.errors import Unavailable
from core.records import Event, Item
from settings import Settings
from store.redis import RedisStore
from store.sqlite import SQLiteStore

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test alone: its own port and directory, stopped by its pid."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *extra: str) -> None:
        address = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        self.proc = subprocess.Popen(
            ["redis-server", *address, "--save", "", "--appendonly", "no", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the port accepts (it may still be loading)
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.02)
        raise AssertionError("the private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrivateRedis]:
    private = PrivateRedis(tmp_path)
    private.start()
    try:
        yield private
    finally:
        private.stop()


def test_redis_down_raises_unavailable_then_recovers(server: PrivateRedis) -> None:
    store = RedisStore(server.url, prefix="outage")
    store.upsert_items("t", [Item("a")])
    server.stop()

    started = time.monotonic()
    with pytest.raises(Unavailable, match="cannot be reached") as raised:
        store.get_item("t", "a")
    assert time.monotonic() - started < 5.0  # a short retry, then the answer: no hang
    assert raised.value.retry_after > 0
    assert isinstance(raised.value.__cause__, redis.ConnectionError)
    with pytest.raises(Unavailable):
        store.add_events("t", [Event("e1", "c1", "view", 1.0, item_id="a")], [1.0])
    with pytest.raises(Unavailable):
        list(store.iter_items("t"))  # a generator raises while it is consumed
    assert store.ping() is False

    server.start()  # nothing was saved: the same store answers again, on an empty server
    assert store.ping() is True
    assert store.get_item("t", "a") is None
    assert store.upsert_items("t", [Item("a")]) == [True]
    store.close()


def test_redis_loading_its_data_set_is_an_outage(server: PrivateRedis) -> None:
    store = RedisStore(server.url, prefix="outage")
    store.upsert_items("t", [Item("a", title="kept")])
    filler = redis.Redis.from_url(server.url)
    with filler.pipeline(transaction=False) as pipe:
        for start in range(0, 20_000, 5000):
            pipe.mset({f"filler:{i}": "x" for i in range(start, start + 5000)})
        pipe.execute()
    filler.save()
    filler.close()
    server.stop()
    # 20,000 keys at 100 µs each: two seconds of loading, longer than the client's retries;
    # answering "LOADING" every kilobyte read instead of every two megabytes.
    server.start("--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024")

    with pytest.raises(Unavailable, match="loading") as raised:
        store.get_item("t", "a")
    assert isinstance(raised.value.__cause__, redis.BusyLoadingError)
    deadline = time.monotonic() + 30
    while not store.ping() and time.monotonic() < deadline:
        time.sleep(0.1)
    item = store.get_item("t", "a")
    assert item is not None and item.title == "kept"
    store.close()


def test_an_outage_answers_503_with_retry_after(server: PrivateRedis, tmp_path: Path) -> None:
    store = RedisStore(server.url, prefix="outage")
    _, secret = create_key(store, "shop", parse_scopes("catalog,events"))
    headers = {"Authorization": f"Bearer {secret}"}
    settings = Settings(data_dir=tmp_path, rate_limit_requests=0, model_poll_s=0)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        assert client.get("/v1/items/a", headers=headers).status_code == 404
        server.stop()
        answer = client.get("/v1/items/a", headers=headers)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert answer.headers["content-type"] == "application/problem+json"
        assert "cannot answer now" in answer.json()["detail"]
        server.start()
        assert client.get("/v1/items/a", headers=headers).status_code == 404


def test_sqlite_locked_beyond_the_busy_timeout_raises_unavailable(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3", busy_timeout_s=0.2)
    with closing(sqlite3.connect(store.path, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")  # another process's long write, say
        with pytest.raises(Unavailable, match="locked") as raised:
            store.add_events("t", [Event("e1", "c1", "view", 1.0, item_id="a")], [1.0])
        assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
        assert store.count_events("t") == 0  # readers still read beside the writer (WAL)
        writer.execute("ROLLBACK")
    assert store.add_events("t", [Event("e1", "c1", "view", 1.0, item_id="a")], [1.0]) == [True]
    store.close()


def test_errors_that_are_bugs_stay_errors(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    with closing(sqlite3.connect(store.path)) as db:
        db.execute("DROP TABLE tenant_config")  # a broken file is no outage to wait out
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        store.get_tenant_config("t")
    store.close()


def test_insights_refresh_logs_an_outage_once_and_its_end_once(
    server: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """The event listener that re-scores customers meets the outage at every batch: one line
    when the store goes away, one when it is back, no traceback."""
    from insights.service import InsightsService

    store = RedisStore(server.url, prefix="outage")
    insights = InsightsService(store)
    purchase = [Event("e1", "c1", "purchase", 1.0, item_id="a", value=5.0)]
    insights.on_events("t", purchase)  # no run yet: nothing to refresh, nothing logged
    server.stop()
    with caplog.at_level("INFO", logger="insights.service"):
        for _ in range(5):
            insights.on_events("t", purchase)
        server.start()
        for _ in range(3):
            insights.on_events("t", purchase)
    lines = [r for r in caplog.records if r.name == "insights.service"]
    assert [r.getMessage().split(":")[1].strip() for r in lines] == [
        "the store cannot answer now",
        "the store is back",
    ], [r.getMessage() for r in lines]
    assert all(r.exc_info is None for r in lines)
    store.close()


class SilentListener:
    """A TCP port that accepts connections and never answers: a Redis that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.sock.getsockname()[1]}/0"

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_a_refused_connection_is_retried_with_backoff_and_a_hang_is_cut_by_the_timeout() -> None:
    closed = RedisStore(f"redis://127.0.0.1:{free_port()}/0", prefix="outage")
    started = time.monotonic()
    with pytest.raises(Unavailable, match="cannot be reached"):
        closed.get_item("t", "a")
    # the default client: three connection attempts, backoffs of 0.1 and 0.2 s between them
    assert 0.3 <= time.monotonic() - started < 3.0
    listener = SilentListener()
    try:
        hung = RedisStore(listener.url, prefix="outage", socket_timeout_s=0.2)
        started = time.monotonic()
        with pytest.raises(Unavailable, match="did not answer in time"):
            hung.get_item("t", "a")
        # a server that accepts and never answers costs one socket timeout, not a hang
        assert 0.2 <= time.monotonic() - started < 1.5
        assert len(listener.accepted) >= 1
    finally:
        listener.close()
