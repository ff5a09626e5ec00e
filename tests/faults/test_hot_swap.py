"""Hot swap under load on two workers: new versions are published and activated while clients
hammer recommendations and similar items; not one request fails, and both workers end up
serving the last version without a restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from access.keys import create_key, parse_scopes
from store.sqlite import SQLiteStore
from tests.faults.conftest import publish, seed_shop
from tests.faults.processes import Server

SWAPS = 3


def hammer(
    url: str, headers: dict[str, str], stop: threading.Event, seen: list[tuple[int, str | None]]
) -> None:
    """Recommendations and similar items in a loop; ``(status, model_version)`` of each (status
    0: no answer)."""
    n = 0
    with httpx.Client(base_url=url, headers=headers, timeout=15) as c:
        while not stop.is_set():
            for path in (
                f"/v1/customers/c{n % 40}/recommendations",
                f"/v1/items/i{n % 20}/similar",
            ):
                try:
                    r = c.get(path)
                except httpx.HTTPError:
                    seen.append((0, None))
                    continue
                seen.append((r.status_code, r.json().get("model_version")))
            n += 1


def test_activations_under_load_on_two_workers_fail_no_request(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store = SQLiteStore(data / "atelier.sqlite3")
    _, secret = create_key(store, "shop", parse_scopes("recommend,admin"))
    headers = {"Authorization": f"Bearer {secret}"}
    seed_shop(store, "shop", customers=40)
    versions = [publish(store, data, "shop", "ease", {"l2": 1.0})]
    server = Server(data, {"ATELIER_MODEL_POLL_S": "0.5"}, workers=2).start(ready=True)
    stop = threading.Event()
    seen: list[tuple[int, str | None]] = []
    clients = [
        threading.Thread(target=hammer, args=(server.url, headers, stop, seen)) for _ in "ab"
    ]
    try:
        for t in clients:
            t.start()
        time.sleep(0.5)
        for k in range(SWAPS):
            family, params = [("itemknn", {}), ("ease", {"l2": 5.0}), ("als", {"factors": 4})][k]
            versions.append(publish(store, data, "shop", family, params))
            r = httpx.post(f"{server.url}/v1/models/{versions[-1]}/activate", headers=headers)
            assert r.status_code == 200, r.text
            time.sleep(1.0)  # two polls (ATELIER_MODEL_POLL_S): both workers swap under load
        # Both workers follow: the last answers all name the last version.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            time.sleep(0.5)
            tail = seen[-40:]
            if len(tail) == 40 and all(v == versions[-1] for _, v in tail):
                break
        stop.set()
        for t in clients:
            t.join()
        assert server.alive()
    finally:
        stop.set()
        server.stop()
        store.close()
    failed = [s for s, _ in seen if s != 200]
    print(f"{len(seen)} requests over {SWAPS} swaps on 2 workers: {len(failed)} failed")
    assert not failed, f"{len(failed)} of {len(seen)} requests failed: {sorted(set(failed))}"
    assert all(v == versions[-1] for _, v in seen[-40:]), "a worker still serves an old version"
