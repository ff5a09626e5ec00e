"""A 202 survives kill -9 of the API, on both backends: post events, SIGKILL every server
process mid-batch, restart, and count what was acknowledged against what is stored."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from access.keys import create_key, parse_scopes
from tests.faults.conftest import backend_env, open_store
from tests.faults.processes import PrivateRedis, Server, wait_for

BATCH = 50
CUSTOMERS = 13


def post_until(
    url: str, headers: dict[str, str], stop: threading.Event, writer: str, acknowledged: list[str]
) -> None:
    """Post batches of new events until ``stop`` or the server dies; each acknowledged batch's
    ids are added to ``acknowledged`` as its 202 comes."""
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


def crash_and_count(
    backend: str, data: Path, redis_server: PrivateRedis | None
) -> tuple[list[str], set[str]]:
    """Two writers post batches, every server process is killed -9 mid-batch, the server is
    started again: the ids acknowledged before the crash, and the ids stored after it."""
    store = open_store(backend, data, redis_server)
    _, secret = create_key(store, "shop", parse_scopes("events,customers"))
    store.close()
    headers = {"Authorization": f"Bearer {secret}"}
    server = Server(data, backend_env(backend, redis_server)).start()
    try:
        acknowledged: list[str] = []
        stop = threading.Event()
        writers = [
            threading.Thread(target=post_until, args=(server.url, headers, stop, w, acknowledged))
            for w in ("a", "b")
        ]
        for w in writers:
            w.start()
        # Kill while batches are in flight (both writers post without pause), once enough
        # were acknowledged for the count to mean something.
        wait_for(lambda: len(acknowledged) >= 8 * BATCH, 30, f"{backend}: acknowledged batches")
        server.kill9()
        stop.set()
        for w in writers:
            w.join()
        server.start()
        found = stored_ids(server.url, headers)
    finally:
        server.stop()
    return acknowledged, found


def test_acknowledged_events_survive_kill_9_of_the_api_on_both_backends(
    tmp_path: Path, private_redis: PrivateRedis
) -> None:
    """Both backends at once, each with its own server: their starts overlap (a start is most
    of the time), what each proves is checked per backend."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {
            backend: pool.submit(
                crash_and_count,
                backend,
                tmp_path / backend / "data",
                private_redis if backend == "redis" else None,
            )
            for backend in ("embedded", "redis")
        }
    for backend, run in runs.items():
        acknowledged, found = run.result()
        missing = set(acknowledged) - found
        print(
            f"{backend}: {len(acknowledged)} events acknowledged, {len(found)} stored after kill -9"
        )
        assert len(acknowledged) >= 8 * BATCH, backend
        assert not missing, (
            f"{backend}: {len(missing)} of {len(acknowledged)} acknowledged events lost"
        )
        # Nothing half-written: each stored batch is whole (BATCH consecutive ids of one writer).
        counts: dict[tuple[str, int], int] = {}
        for e in found:
            writer, number = e.split("-")
            key = (writer, int(number) // BATCH)
            counts[key] = counts.get(key, 0) + 1
        assert all(v == BATCH for v in counts.values()), f"{backend}: a batch was stored in part"
