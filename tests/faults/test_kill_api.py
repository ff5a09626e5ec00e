"""A 202 survives kill -9 of the API, on both backends: post events, SIGKILL every server
process mid-batch, restart, and count what was acknowledged against what is stored."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from access.keys import create_key, parse_scopes
from tests.faults.conftest import backend_env, open_store
from tests.faults.processes import PrivateRedis, Server

BATCH = 50
CUSTOMERS = 13


def post_until(url: str, headers: dict[str, str], stop: threading.Event, writer: str) -> list[str]:
    """Post batches of new events until ``stop`` or the server dies; the acknowledged ids."""
    acknowledged: list[str] = []
    n = 0
    with httpx.Client(base_url=url, headers=headers, timeout=10) as c:
        while not stop.is_set():
            batch = [
                {
                    "event_id": f"{writer}-{n + i}",
                    "customer_id": f"c{(n + i) % CUSTOMERS}",
                    "item_id": f"i{i % 7}",
                    "type": "purchase",
                }
                for i in range(BATCH)
            ]
            n += BATCH
            try:
                r = c.post("/v1/events", json={"events": batch})
            except httpx.HTTPError:
                break  # the server died mid-request: that batch was never acknowledged
            if r.status_code == 202:
                acknowledged.extend(e["event_id"] for e in batch)
    return acknowledged


def stored_ids(url: str, headers: dict[str, str]) -> set[str]:
    found: set[str] = set()
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        for k in range(CUSTOMERS):
            r = c.get(f"/v1/customers/c{k}/export")
            if r.status_code == 200:
                found.update(e["event_id"] for e in r.json()["events"])
            else:
                assert r.status_code == 404, r.text
    return found


@pytest.mark.parametrize("backend", ["embedded", "redis"])
def test_acknowledged_events_survive_kill_9_of_the_api(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis_server: PrivateRedis | None = (
        request.getfixturevalue("private_redis") if backend == "redis" else None
    )
    data = tmp_path / "data"
    store = open_store(backend, data, redis_server)
    _, secret = create_key(store, "shop", parse_scopes("events,customers"))
    store.close()
    headers = {"Authorization": f"Bearer {secret}"}
    server = Server(data, backend_env(backend, redis_server)).start()
    try:
        acknowledged: list[str] = []
        stop = threading.Event()
        writers = [
            threading.Thread(
                target=lambda w=w: acknowledged.extend(post_until(server.url, headers, stop, w))
            )
            for w in ("a", "b")
        ]
        for w in writers:
            w.start()
        time.sleep(2.0)  # kill while batches are in flight
        server.kill9()
        stop.set()
        for w in writers:
            w.join()
        assert len(acknowledged) >= 4 * BATCH

        server.start()
        found = stored_ids(server.url, headers)
    finally:
        server.stop()
    missing = set(acknowledged) - found
    print(f"{backend}: {len(acknowledged)} events acknowledged, {len(found)} stored after kill -9")
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged events lost"
    # Nothing half-written: each stored batch is whole (BATCH consecutive ids of one writer).
    counts: dict[tuple[str, int], int] = {}
    for e in found:
        writer, number = e.split("-")
        key = (writer, int(number) // BATCH)
        counts[key] = counts.get(key, 0) + 1
    assert all(v == BATCH for v in counts.values()), "a batch was stored in part"
