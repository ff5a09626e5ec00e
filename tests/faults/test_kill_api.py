"""A 202 survives kill -9: start the real server, post events, SIGKILL it, restart, count."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from access.keys import create_key, parse_scopes
from store.embedded import SQLiteStore

ATELIER = Path(sys.executable).with_name("atelier")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ATELIER_DATA_DIR": str(data_dir),
        "ATELIER_PORT": str(port),
        "ATELIER_STORE": "embedded",
        "ATELIER_RATE_LIMIT_REQUESTS": "0",
    }
    proc = subprocess.Popen(
        [str(ATELIER), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    pytest.fail("the server did not start")


def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    _, secret = create_key(store, "shop", parse_scopes("events,customers"))
    store.close()
    headers = {"Authorization": f"Bearer {secret}"}
    port = free_port()
    proc = start_server(tmp_path, port)
    acknowledged: list[str] = []
    stop = threading.Event()

    def post_until_killed() -> None:
        n = 0
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=5) as c:
            while not stop.is_set():
                batch = [
                    {
                        "event_id": f"e{n + i}",
                        "customer_id": f"c{(n + i) % 13}",
                        "item_id": f"i{i % 7}",
                        "type": "purchase",
                    }
                    for i in range(50)
                ]
                n += 50
                try:
                    r = c.post("/v1/events", json={"events": batch})
                except httpx.HTTPError:
                    return  # the server died mid-request: that batch was never acknowledged
                if r.status_code == 202:
                    acknowledged.extend(e["event_id"] for e in batch)

    writer = threading.Thread(target=post_until_killed)
    writer.start()
    time.sleep(2.0)  # kill while batches are in flight
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    writer.join()
    assert len(acknowledged) >= 100

    proc = start_server(tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
            found: set[str] = set()
            for k in range(13):
                r = c.get(f"/v1/customers/c{k}/export")
                if r.status_code == 200:
                    found.update(e["event_id"] for e in r.json()["events"])
        missing = set(acknowledged) - found
        assert not missing, f"{len(missing)} acknowledged events lost"
        # Nothing half-written: each stored batch is whole (50 consecutive ids).
        numbers = sorted(int(e[1:]) for e in found)
        assert len(numbers) % 50 == 0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
