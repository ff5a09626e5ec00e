"""Locust scenarios against a running Atelier (see ``load/bench_http.py``, which starts both).

Each user class hits one endpoint so that a run can put endpoints side by side (several classes
in one run) or measure one alone. Configuration comes from the environment:
``ATELIER_BENCH_KEY`` (bearer key), ``ATELIER_BENCH_CUSTOMERS`` / ``ATELIER_BENCH_ITEMS``
(files with one id per line).
"""

from __future__ import annotations

import itertools
import os
import random
import uuid

from bench_ids import CUSTOMERS, ITEMS  # load/ is on the path: locust runs this file
from locust import FastHttpUser, constant, constant_throughput, task

KEY = os.environ.get("ATELIER_BENCH_KEY", "")
HEADERS = {"Authorization": f"Bearer {KEY}"}


PRODUCT = os.environ.get("ATELIER_BENCH_PRODUCT", "original-spin")
_batch_counter = itertools.count()
#: Requests per second per user for paced runs (``ATELIER_BENCH_RATE``); 0 = as fast as possible.
_RATE = float(os.environ.get("ATELIER_BENCH_RATE", "0"))
_PACE = constant_throughput(_RATE) if _RATE > 0 else constant(0)
_RUN = uuid.uuid4().hex[:8]


class HealthUser(FastHttpUser):
    """The trivial baseline of every comparison."""

    wait_time = _PACE

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz")


class ProfileUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def profile(self) -> None:
        cid = random.choice(CUSTOMERS)
        self.client.get(f"/v1/customers/{cid}", headers=HEADERS, name="GET /v1/customers/{id}")


class IngestUser(FastHttpUser):
    """Batches of 1,000 new events (unique ids), views, carts and purchases."""

    wait_time = constant(0)
    batch = int(os.environ.get("ATELIER_BENCH_BATCH", "1000"))

    @task
    def ingest(self) -> None:
        n = next(_batch_counter)
        types = ("view", "view", "view", "add_to_cart", "purchase")
        events = [
            {
                "event_id": f"bench-{_RUN}-{os.getpid()}-{n}-{i}",
                "customer_id": random.choice(CUSTOMERS),
                "item_id": random.choice(ITEMS),
                "type": types[i % 5],
            }
            for i in range(self.batch)
        ]
        with self.client.post(
            "/v1/events",
            json={"events": events},
            headers=HEADERS,
            name="POST /v1/events (1000)",
            catch_response=True,
        ) as r:
            if r.status_code != 202 or r.json()["accepted"] != self.batch:
                r.failure(f"{r.status_code}: {r.text[:200]}")


class RecommendUser(FastHttpUser):
    wait_time = _PACE

    @task
    def recommend(self) -> None:
        cid = random.choice(CUSTOMERS)
        self.client.get(
            f"/v1/customers/{cid}/recommendations?n=10",
            headers=HEADERS,
            name="GET /v1/customers/{id}/recommendations",
        )


class InsightsUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def insights(self) -> None:
        cid = random.choice(CUSTOMERS)
        self.client.get(
            f"/v1/customers/{cid}/insights", headers=HEADERS, name="GET /v1/customers/{id}/insights"
        )


class InsightsNewUser(FastHttpUser):
    """The customer-intelligence reads added with issue 13, one after another."""

    wait_time = constant(0)

    @task
    def reads(self) -> None:
        cid = random.choice(CUSTOMERS)
        for path, name in (
            (f"/v1/customers/{cid}/insights/history", "GET /v1/customers/{id}/insights/history"),
            ("/v1/insights/share-of-customer", "GET /v1/insights/share-of-customer"),
            ("/v1/insights/retention?period=month", "GET /v1/insights/retention"),
            ("/v1/insights/segments?by=needs", "GET /v1/insights/segments?by=needs"),
            ("/v1/insights/customers?tier=MVC&limit=50", "GET /v1/insights/customers"),
            ("/v1/insights/config", "GET /v1/insights/config"),
        ):
            self.client.get(path, headers=HEADERS, name=name)


#: The tier policy the value scenario puts before it reads entitlements.
TIER_POLICY = {
    "tiers": {
        "MVC": {
            "perks": [
                {"perk_id": "ten-off", "title": "10% off", "kind": "discount", "value": 0.1},
                {"perk_id": "fast", "title": "Priority", "kind": "priority_lead_time", "value": 2},
            ]
        },
        "standard": {"perks": [{"perk_id": "news", "title": "Early access", "kind": "other"}]},
    }
}


class ValueActionsUser(FastHttpUser):
    """The reads that act on value (issue 13, items 1-4): entitlements with their reachable
    requirements, the worklist by wallet gap, a customer-scoped configure with perks applied."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.client.put("/v1/tiers/policy", json=TIER_POLICY, headers=HEADERS)

    @task
    def reads(self) -> None:
        cid = random.choice(CUSTOMERS)
        self.client.get(
            f"/v1/customers/{cid}/entitlements",
            headers=HEADERS,
            name="GET /v1/customers/{id}/entitlements",
        )
        self.client.get(
            "/v1/account-managers/am-1/customers?order=wallet_gap&limit=20&questions=0",
            headers=HEADERS,
            name="GET /v1/account-managers/{id}/customers?order=wallet_gap",
        )
        self.client.post(
            f"/v1/configurator/products/{PRODUCT}/configure",
            json={"customer_id": cid},
            headers=HEADERS,
            name="POST configure (customer-scoped, perks)",
        )


class ConfigureUser(FastHttpUser):
    wait_time = constant(0)
    selections = ({}, {"fit": "slim"}, {"fabric": "stretch-11oz"}, {"delivery": "rush"})

    @task
    def configure(self) -> None:
        body = {"selections": random.choice(self.selections)}
        self.client.post(
            f"/v1/configurator/products/{PRODUCT}/configure",
            json=body,
            headers=HEADERS,
            name="POST /v1/configurator/products/{id}/configure",
        )
