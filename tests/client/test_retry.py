"""Automatic retries against real refusals: a 503 of a server whose private Redis was killed
(then started again), and the 429 of a key over its rate limit, each honouring Retry-After."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from access.keys import create_key, parse_scopes
from atelier_client import NO_RETRY, Client, RateLimited, Retry, ServiceUnavailable
from store.redis import RedisStore
from store.sqlite import SQLiteStore
from tests.faults.processes import PrivateRedis, Server


class Seen:
    """The statuses and Retry-After headers the client received, in order (an httpx hook)."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, str | None, float]] = []

    def __call__(self, response: httpx.Response) -> None:
        self.answers.append(
            (response.status_code, response.headers.get("retry-after"), time.monotonic())
        )


def client_of(server: Server, secret: str, seen: Seen, retry: Retry) -> Client:
    http = httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {secret}"},
        event_hooks={"response": [seen]},
        timeout=15,
    )
    return Client(server.url, http=http, retry=retry)


def test_a_store_outage_is_waited_out(tmp_path: Path) -> None:
    redis_server = PrivateRedis(tmp_path / "redis").start()
    store = RedisStore(redis_server.url, prefix="atelier")
    _, secret = create_key(store, "shop", parse_scopes("catalog"))
    store.close()
    env = {"ATELIER_STORE": "redis", "ATELIER_REDIS_URL": redis_server.url}
    server = Server(tmp_path / "data", env).start()
    seen = Seen()
    try:
        with client_of(server, secret, seen, Retry(attempts=30, max_delay=5)) as client:
            client.put_item("kept", title="before the outage")
            redis_server.kill9()
            with (
                pytest.raises(ServiceUnavailable) as caught,
                client_of(server, secret, Seen(), NO_RETRY) as once,
            ):
                once.get_item("kept")
            assert caught.value.retry_after is not None and caught.value.retry_after >= 1
            restart = threading.Timer(2.5, redis_server.start)
            restart.start()
            began = time.monotonic()
            item = client.get_item("kept")  # waits the outage out, told when by Retry-After
            restart.join()
        assert item.title == "before the outage"
        refused = [a for a in seen.answers if a[0] == 503]
        assert refused and all(a[1] for a in refused), seen.answers
        assert seen.answers[-1][0] == 200 and time.monotonic() - began >= 2.0
        # Each retry came no sooner than the Retry-After of the answer before it.
        gaps = [
            (later[2] - earlier[2], float(earlier[1] or 0))
            for earlier, later in zip(seen.answers, seen.answers[1:], strict=False)
            if earlier[0] == 503
        ]
        assert all(gap >= wait * 0.9 for gap, wait in gaps), gaps
    finally:
        server.stop()
        redis_server.stop()


def test_a_rate_limited_key_is_served_after_retry_after(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = SQLiteStore(data / "atelier.sqlite3")
    _, secret = create_key(store, "shop", parse_scopes("catalog"))
    store.close()
    env = {"ATELIER_RATE_LIMIT_REQUESTS": "3", "ATELIER_RATE_LIMIT_WINDOW_S": "1"}
    server = Server(data, env).start()
    seen = Seen()
    try:
        with client_of(server, secret, seen, Retry(attempts=5, max_delay=5)) as client:
            for k in range(7):
                client.put_item(f"r{k}", title="within the limit, eventually")
        impatient = client_of(server, secret, Seen(), Retry(attempts=5, max_delay=0.5))
        with impatient, pytest.raises(RateLimited) as caught:
            for k in range(10):
                impatient.put_item(f"s{k}")
    finally:
        server.stop()
    limited = [a for a in seen.answers if a[0] == 429]
    assert limited and all(a[1] == "1" for a in limited)
    assert [a[0] for a in seen.answers].count(200) + [a[0] for a in seen.answers].count(201) == 7
    # A Retry-After longer than the client allows is not waited for: raised at once.
    assert caught.value.status == 429 and caught.value.retry_after == 1.0
