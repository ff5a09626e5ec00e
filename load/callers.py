"""Locust users for the service's three callers (run by ``load/run_callers.py``).

- :class:`StorefrontUser`: a shop's pages: recommendations, similar items, cross-sell for a
  basket, the configurator, and the events the visit sends back;
- :class:`PortalUser`: the account managers' portal: a customer's insights, a manager's
  worklist, the segment report;
- :class:`RetrainingJob`: the nightly job while the shop is open: bulk event batches, then
  ``atelier train`` (the command an operator schedules) and the activation of its version over
  HTTP; the train and activate steps are reported as their own rows;
- :class:`HealthUser`: ``/healthz`` at a fixed pace, the baseline beside every table.

Configuration comes from the environment: ``ATELIER_BENCH_KEY`` (an all-scopes key),
``ATELIER_BENCH_CUSTOMERS`` / ``ATELIER_BENCH_ITEMS`` (files with one id per line),
``ATELIER_BENCH_TENANT`` and ``ATELIER_BENCH_TRAIN`` (the train command's arguments).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

from bench_ids import CUSTOMERS, ITEMS  # load/ is on the path: locust runs this file
from locust import FastHttpUser, between, constant_throughput, events, task

KEY = os.environ.get("ATELIER_BENCH_KEY", "")
HEADERS = {"Authorization": f"Bearer {KEY}"}
TENANT = os.environ.get("ATELIER_BENCH_TENANT", "demo")
# The nightly job runs `atelier train` as an operator schedules it: its defaults, unless told.
TRAIN = os.environ.get("ATELIER_BENCH_TRAIN", "")
ATELIER = str(Path(sys.executable).with_name("atelier"))
_RUN = uuid.uuid4().hex[:8]
_counter = itertools.count()


MANAGERS = [f"am-{k}" for k in range(1, 6)]  # the demo shop's account managers
SELECTIONS: tuple[dict[str, str], ...] = (
    {},
    {"fit": "slim"},
    {"fabric": "stretch-11oz"},
    {"delivery": "rush"},
)


def _event_id() -> str:
    return f"load-{_RUN}-{os.getpid()}-{next(_counter)}"


class HealthUser(FastHttpUser):
    """The baseline: the cheapest answer the service gives, paced at 5 per second."""

    wait_time = constant_throughput(5)
    fixed_count = 1

    @task
    def healthz(self) -> None:
        self.client.get("/healthz", name="GET /healthz")


class StorefrontUser(FastHttpUser):
    """A visitor's page views: each page asks for something and reports what was seen."""

    wait_time = between(0.05, 0.2)

    @task(4)
    def recommendations(self) -> None:
        cid = random.choice(CUSTOMERS)
        self.client.get(
            f"/v1/customers/{cid}/recommendations?n=10",
            headers=HEADERS,
            name="GET /v1/customers/{id}/recommendations",
        )

    @task(3)
    def similar(self) -> None:
        self.client.get(
            f"/v1/items/{random.choice(ITEMS)}/similar?n=10",
            headers=HEADERS,
            name="GET /v1/items/{id}/similar",
        )

    @task(2)
    def cross_sell(self) -> None:
        body = {"items": random.sample(ITEMS, min(3, len(ITEMS))), "n": 5}
        if random.random() < 0.5:
            body["customer_id"] = random.choice(CUSTOMERS)
        self.client.post(
            "/v1/recommendations/cross-sell",
            json=body,
            headers=HEADERS,
            name="POST /v1/recommendations/cross-sell",
        )

    @task(1)
    def configure(self) -> None:
        self.client.post(
            "/v1/configurator/products/original-spin/configure",
            json={"selections": random.choice(SELECTIONS)},
            headers=HEADERS,
            name="POST /v1/configurator/products/{id}/configure",
        )

    @task(3)
    def events(self) -> None:
        cid = random.choice(CUSTOMERS)
        batch = [
            {
                "event_id": _event_id(),
                "customer_id": cid,
                "item_id": random.choice(ITEMS),
                "type": kind,
            }
            for kind in ("impression", "view", "add_to_cart")
        ]
        with self.client.post(
            "/v1/events",
            json={"events": batch},
            headers=HEADERS,
            name="POST /v1/events (3)",
            catch_response=True,
        ) as r:
            if r.status_code != 202 or r.json()["accepted"] != len(batch):
                r.failure(f"{r.status_code}: {r.text[:200]}")


class PortalUser(FastHttpUser):
    """An account manager at work: the worklist, a customer's insights, the segments."""

    wait_time = between(0.2, 0.5)

    @task(4)
    def insights(self) -> None:
        self.client.get(
            f"/v1/customers/{random.choice(CUSTOMERS)}/insights",
            headers=HEADERS,
            name="GET /v1/customers/{id}/insights",
        )

    @task(2)
    def worklist(self) -> None:
        self.client.get(
            f"/v1/account-managers/{random.choice(MANAGERS)}/customers",
            headers=HEADERS,
            name="GET /v1/account-managers/{id}/customers",
        )

    @task(1)
    def segments(self) -> None:
        self.client.get("/v1/insights/segments", headers=HEADERS, name="GET /v1/insights/segments")


class RetrainingJob(FastHttpUser):
    """Bulk events, then a training run and the activation of its version, in a loop."""

    wait_time = between(1, 2)
    fixed_count = 1  # one job, whatever the number of users
    batches_per_train = 5

    @task
    def cycle(self) -> None:
        for _ in range(self.batches_per_train):
            batch = [
                {
                    "event_id": _event_id(),
                    "customer_id": random.choice(CUSTOMERS),
                    "item_id": random.choice(ITEMS),
                    "type": random.choice(("view", "view", "add_to_cart", "purchase")),
                }
                for _ in range(1000)
            ]
            with self.client.post(
                "/v1/events",
                json={"events": batch},
                headers=HEADERS,
                name="POST /v1/events (1000, job)",
                catch_response=True,
            ) as r:
                if r.status_code != 202:
                    r.failure(f"{r.status_code}: {r.text[:200]}")
        version = self._train()
        if version is not None:
            self.client.post(
                f"/v1/models/{version}/activate",
                headers=HEADERS,
                name="POST /v1/models/{version}/activate",
            )

    def _train(self) -> str | None:
        """``atelier train --publish`` as the job runs it; one row of its own in the table."""
        cmd = [ATELIER, "train", "--tenant", TENANT, *shlex.split(TRAIN), "--publish"]
        started = time.perf_counter()
        proc = subprocess.run([*cmd, "--no-progress"], capture_output=True, text=True)
        ms = (time.perf_counter() - started) * 1000
        error = None if proc.returncode == 0 else RuntimeError(proc.stderr[-300:])
        events.request.fire(
            request_type="JOB",
            name="atelier train --publish",
            response_time=ms,
            response_length=0,
            exception=error,
            context={},
        )
        if error is not None:
            return None
        out = proc.stdout
        return str(json.loads(out[out.index("{") :])["version"])
