"""Dialogue benchmark: contacts and answers ingested per second, ``next-questions`` and the
manager's list p50/p99 beside ``/healthz`` (1,000 customers under one manager), and the wall
time of merging a customer with 10,000 events. One run, one backend; figures go to
load/HISTORY.md.

Ingestion is measured twice: through :class:`dialogue.DialogueService` (what the store takes,
no HTTP) and over HTTP by one keep-alive client (what a caller sees, request after request).
The reads are measured with wrk (``apt-get install -y wrk``) against ``atelier serve``, each
route as a ratio of ``/healthz`` measured in the same run, since the machine is shared.

Examples
--------
::

    python load/bench_dialogue.py --store embedded
    python load/bench_dialogue.py --store redis --duration 10
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from access.keys import create_key, parse_scopes  # noqa: E402
from core.records import Customer, Event  # noqa: E402
from customers.service import CustomerService  # noqa: E402
from dialogue.questions import APPAREL_BANK  # noqa: E402
from dialogue.service import DialogueService  # noqa: E402
from events.ingest import Listeners  # noqa: E402
from settings import Settings  # noqa: E402
from store import open_configured_store  # noqa: E402
from store.base import Store  # noqa: E402
from tests.faults.processes import Server  # noqa: E402

sys.path.insert(0, str(ROOT / "load"))
from bench_http import wrk  # noqa: E402

TENANT = "bench"
MANAGER = "am-1"
TIERS = ("MVC", "MGC", "standard", "BZ")
ACTIONS = ("retain", "cross_sell", "upgrade", "self_service")


def seed(store: Store, customers: int) -> None:
    """``customers`` profiles under one manager (consent to email and phone), an insights row
    each (tier, churn risk, CLV, a next best action with a priority), the apparel bank."""
    rng = np.random.default_rng(3)
    store.ensure_tenant(TENANT)
    ids = [f"c{n:05d}" for n in range(customers)]
    store.put_customers(
        TENANT,
        [
            Customer(c, {"segment": "trade"}, account_manager=MANAGER,
                     consent_channels={"email": True, "phone": bool(n % 2)})
            for n, c in enumerate(ids)
        ],
    )  # fmt: skip
    rows = {}
    for n, cid in enumerate(ids):
        tier = TIERS[n % 4]
        rows[cid] = {
            "customer_id": cid,
            "tier": tier,
            "lifecycle_stage": "stable",
            "churn_risk": float(rng.random()),
            "clv": float(rng.gamma(2.0, 300.0)),
            "next_best_action": {
                "action": ACTIONS[n % 4],
                "reason": "bench",
                "priority": float(rng.gamma(2.0, 100.0)),
            },
        }
    store.put_insights_rows(TENANT, rows)
    DialogueService(store).ensure_bank(TENANT, APPAREL_BANK)


def ingest_rates(store: Store, n: int) -> dict[str, float]:
    """Contacts and answers per second through the service (each one store write)."""
    dialogue = DialogueService(store)
    ids = [f"c{k % 1000:05d}" for k in range(n)]
    start = time.perf_counter()
    for k, cid in enumerate(ids):
        dialogue.add_contact(
            TENANT,
            cid,
            {"contact_id": f"svc-{k}", "channel": "phone", "direction": "outbound",
             "outcome": "reached", "note": "Called about the new season."},
        )  # fmt: skip
    contacts = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for k, cid in enumerate(ids):
        dialogue.answer(TENANT, cid, {"question_id": "waist", "value": 28 + k % 12})
    answers = n / (time.perf_counter() - start)
    return {"contacts_per_s": contacts, "answers_per_s": answers}


def http_ingest_rates(url: str, headers: dict[str, str], n: int) -> dict[str, float]:
    """Contacts and answers per second over HTTP, one keep-alive client, request after request."""
    with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
        start = time.perf_counter()
        for k in range(n):
            body = {"contact_id": f"http-{k}", "channel": "email", "direction": "inbound"}
            r = client.post(f"/v1/customers/c{k % 1000:05d}/contacts", json=body)
            assert r.status_code == 201, r.text
        contacts = n / (time.perf_counter() - start)
        start = time.perf_counter()
        for k in range(n):
            body = {"question_id": "fit", "value": ("slim", "regular", "relaxed")[k % 3]}
            r = client.post(f"/v1/customers/c{k % 1000:05d}/answers", json=body)
            assert r.status_code == 201, r.text
        answers = n / (time.perf_counter() - start)
    return {"http_contacts_per_s": contacts, "http_answers_per_s": answers}


def merge_time(store: Store, events: int) -> float:
    """Wall seconds of merging a customer with ``events`` events into another."""
    src, dst = f"m-src-{uuid.uuid4().hex[:6]}", f"m-dst-{uuid.uuid4().hex[:6]}"
    store.put_customers(TENANT, [Customer(src), Customer(dst)])
    batch = [
        Event(f"{src}-{k}", src, "view" if k % 5 else "purchase", 1.7e9 + k, item_id=f"i{k % 400}")
        for k in range(events)
    ]
    for start in range(0, events, 5000):
        chunk = batch[start : start + 5000]
        store.add_events(TENANT, chunk, [1.0] * len(chunk))
    customers = CustomerService(store, Listeners())
    start = time.perf_counter()
    counts = customers.merge(TENANT, dst, [src])
    took = time.perf_counter() - start
    assert counts.events == events, counts
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["embedded", "redis"], default="embedded")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--writes", type=int, default=3000, help="contacts (and answers) written")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    work = Path(tempfile.mkdtemp(prefix="bench-dialogue-"))
    prefix = f"bench-dialogue-{os.getpid()}"
    env = {
        "ATELIER_STORE": args.store,
        "ATELIER_REDIS_URL": args.redis_url,
        "ATELIER_REDIS_PREFIX": prefix,
        "ATELIER_DATA_DIR": str(work),
    }
    os.environ.update(env)
    store = open_configured_store(Settings())
    server = Server(work, env=env, workers=args.workers)
    try:
        seed(store, args.customers)
        _, key = create_key(store, TENANT, parse_scopes("customers,admin"))
        service = ingest_rates(store, args.writes)
        server.start()
        headers = {"Authorization": f"Bearer {key}"}
        http = http_ingest_rates(server.url, headers, args.writes)
        routes = {
            "/healthz": "/healthz",
            "next-questions": "/v1/customers/c00007/next-questions?n=2",
            "manager list": f"/v1/account-managers/{MANAGER}/customers?limit=50",
        }
        for path in routes.values():  # each answers 200 before it is timed
            assert httpx.get(server.url + path, headers=headers).status_code == 200, path
        reads = {
            name: wrk(server.url + path, key, args.duration, args.connections)
            for name, path in routes.items()
        }
        server.stop()
        merge_s = merge_time(store, 10_000)
    finally:
        server.stop()
        if args.store == "redis":
            import redis

            r = redis.Redis.from_url(args.redis_url)
            for k in r.scan_iter(match=f"{prefix}:*", count=1000):
                r.delete(k)
        store.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"store: {args.store}, {args.customers} customers under one manager, "
          f"{args.workers} worker(s), wrk -t1 -c{args.connections} -d{args.duration}s")  # fmt: skip
    print(f"service: {service['contacts_per_s']:,.0f} contacts/s, "
          f"{service['answers_per_s']:,.0f} answers/s ({args.writes} each)")  # fmt: skip
    print(f"HTTP, one client: {http['http_contacts_per_s']:,.0f} contacts/s, "
          f"{http['http_answers_per_s']:,.0f} answers/s")  # fmt: skip
    base = reads["/healthz"]
    print(f"{'route':<16}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}{'p50 x':>8}{'p99 x':>8}")
    for name, r in reads.items():
        print(
            f"{name:<16}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['rps']:>9.0f}"
            f"{r['p50_ms'] / base['p50_ms']:>8.1f}{r['p99_ms'] / base['p99_ms']:>8.1f}"
        )
    print(f"merge of a customer with 10,000 events: {merge_s * 1000:,.0f} ms")


if __name__ == "__main__":
    main()
