"""A retrain while traffic runs on the real server with two workers: promoted, 0 failed requests."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from access.keys import create_key, parse_scopes
from core.records import Item
from store.sqlite import SQLiteStore
from tests.faults.processes import Server
from tests.training.test_retrain import fill, publish_active

ATELIER = Path(sys.executable).with_name("atelier")


def test_retrain_under_traffic_on_two_workers_fails_no_request(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    frame = fill(store)
    items = sorted(set(frame.item_id.tolist()))
    store.upsert_items("shop", [Item(i, category="c", price=1.0) for i in items])
    old = publish_active(store, tmp_path / "models", frame, "popularity", {})
    _, secret = create_key(store, "shop", parse_scopes("recommend,admin"))
    store.close()
    server = Server(tmp_path, {"ATELIER_MODEL_POLL_S": "0.2"}, workers=2)
    env = server.env
    headers = {"Authorization": f"Bearer {secret}"}
    customers = sorted(set(frame.customer_id.tolist()))[:40]
    failures: list[str] = []
    versions: list[str | None] = []
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(base_url=server.url, headers=headers, timeout=10) as c:
            n = 0
            while not stop.is_set():
                cid = customers[n % len(customers)]
                n += 1
                try:
                    r = c.get(f"/v1/customers/{cid}/recommendations")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                else:
                    versions.append(r.json()["model_version"])

    try:
        server.start(ready=True)  # both workers up and serving the old version
        threads = [threading.Thread(target=traffic) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        job = subprocess.run(
            [
                str(ATELIER),
                "retrain",
                "--tenant",
                "shop",
                "--model",
                "itemknn",
                "--param",
                "kind=cosine",
                "--param",
                "K=20",
                "--no-progress",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert job.returncode == 0, job.stdout + job.stderr
        summary = json.loads(job.stdout)
        new = summary["version"]
        assert summary["status"] == "promoted" and summary["active_before"] == old
        deadline = time.time() + 30
        while versions[-200:].count(new) < 200 and time.time() < deadline:
            time.sleep(0.1)  # every worker has swapped: the last 200 answers all new
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        assert not failures, failures[:5]
        assert old in versions and versions[-200:] == [new] * 200
        assert len(versions) > 500
    finally:
        stop.set()
        server.stop()
