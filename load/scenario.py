"""A recorded HTTP scenario over every router: the client-visible contract, replayed as a test.

The script starts a real ``atelier serve`` process on a fresh data folder, fills a tenant over
HTTP (catalog, profiles, events), runs the two offline jobs through the command line
(``atelier insights``, ``atelier train --publish``), then sends a fixed list of several hundred
requests touching every router and writes each answer (method, path, status, media type and
body) to a JSON-lines file. Run it before and after a change and diff the two files: a refactor
must leave every answer identical.

Only values that differ between two runs of the same code are masked: wall-clock timestamps
(``created_at``, ``updated_at``, ``computed_at`` ...), model version names (a time stamp plus a
data fingerprint; each distinct name becomes ``<version-N>`` in order of appearance) and
generated configuration ids. Everything else, key order included, is compared as sent.

Examples
--------
``python load/scenario.py --out /tmp/after.jsonl`` and then
``diff tests/scenario/recorded.jsonl /tmp/after.jsonl``;
``tests/test_recorded_scenario.py`` does the same in the suite.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ATELIER = Path(sys.executable).with_name("atelier")
TENANT = "scenario"
OTHER_TENANT = "elsewhere"
SECRET = "scenario-secret-0123456789abcdef"
#: Fixed dates: the data and both jobs use them, so nothing depends on when the scenario runs.
START = 1_735_689_600.0  # 2025-01-01T00:00:00Z
DAY = 86_400.0
AS_OF = "2025-12-01"
#: Event timestamps after this are "now" (events the server stamped, like a saved configuration's).
RUN_DATES = "2026"
CATEGORIES = ("jeans", "belts", "shirts", "jackets", "shoes", "care")
MASKED_KEYS = frozenset(
    {"created_at", "updated_at", "computed_at", "model_computed_at", "exported_at"}
)
#: An RFC 3339 time (API.md, Conventions: timestamps in every answer).
_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
VERSION_KEYS = frozenset({"model_version", "version", "active"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_")}
    env.update(
        {
            "ATELIER_DATA_DIR": str(data_dir),
            "ATELIER_PORT": str(port),
            "ATELIER_STORE": "embedded",
            "ATELIER_RATE_LIMIT_REQUESTS": "0",
            "ATELIER_AUTH_CACHE_TTL_S": "0",
            "ATELIER_MODEL_POLL_S": "0",
            "ATELIER_CONFIGURATOR_SECRET": SECRET,
        }
    )
    return env


#: Where the server's and the commands' standard error (the operator logs) go; None: discarded.
LOG: Path | None = None


def atelier(env: dict[str, str], *args: str) -> str:
    """Run one ``atelier`` command and return its standard output."""
    done = subprocess.run(
        [str(ATELIER), *args], env=env, capture_output=True, text=True, timeout=600
    )
    if LOG is not None:
        with LOG.open("a") as log:
            log.write(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"atelier {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def new_key(env: dict[str, str], tenant: str, scopes: str) -> str:
    return atelier(env, "keys", "create", "--tenant", tenant, "--scopes", scopes).split()[-1]


@contextmanager
def server(env: dict[str, str], port: int) -> Iterator[str]:
    log = LOG.open("a") if LOG is not None else None
    proc = subprocess.Popen(
        [str(ATELIER), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log if log is not None else subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not become ready")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log is not None:
            log.close()


# ------------------------------------------------------------------------------- the data
def catalog(rng: random.Random) -> list[dict[str, Any]]:
    items = []
    for k in range(60):
        category = CATEGORIES[k % len(CATEGORIES)]
        items.append(
            {
                "item_id": f"sku-{k:03d}",
                "title": f"{category.title()} {k}",
                "category": category,
                "price": round(10 + rng.random() * 190, 2),
                "available": k % 17 != 5,
                "attributes": {"style": rng.choice(["classic", "street", "workwear"]), "n": k},
            }
        )
    return items


def customers() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for c in range(120):
        body: dict[str, Any] = {
            "attributes": {"segment": ("trade", "retail", "online")[c % 3], "since": 2020 + c % 5},
            "consent": {"personalization": c % 23 != 7},
            "account_manager": f"am-{c % 4}" if c % 2 == 0 else None,
        }
        out.append((f"cust-{c:03d}", body))
    return out


def events(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for e in range(4000):
        c = int(rng.paretovariate(1.2)) % 120
        taste = c % len(CATEGORIES)
        k = (
            (taste + len(CATEGORIES) * rng.randrange(10))
            if rng.random() < 0.7
            else rng.randrange(60)
        )
        kind = rng.choices(["view", "add_to_cart", "purchase", "rating"], [5, 2, 3, 1])[0]
        event: dict[str, Any] = {
            "event_id": f"ev-{e:05d}",
            "customer_id": f"cust-{c:03d}",
            "item_id": f"sku-{k % 60:03d}",
            "type": kind,
            "timestamp": _rfc3339(START + rng.random() * 330 * DAY),
        }
        if kind == "purchase":
            event["quantity"] = rng.choice([1, 1, 1, 2])
            event["value"] = round(20 + rng.random() * 180, 2)
        if kind == "rating":
            event["value"] = rng.randrange(1, 6)
        out.append(event)
    return out


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# ------------------------------------------------------------------------------- requests
Request = tuple[str, str, str, Any]  # (key name, method, path, JSON body or None)


def setup_requests(rng: random.Random) -> list[Request]:
    reqs: list[Request] = []
    items = catalog(rng)
    reqs.append(("all", "POST", "/v1/items/batch", {"items": items[:40]}))
    for item in items[40:]:
        body = {k: v for k, v in item.items() if k != "item_id"}
        reqs.append(("all", "PUT", f"/v1/items/{item['item_id']}", body))
    for cid, body in customers():
        reqs.append(("all", "PUT", f"/v1/customers/{cid}", body))
    evs = events(rng)
    for start in range(0, len(evs), 1000):
        reqs.append(("all", "POST", "/v1/events", {"events": evs[start : start + 1000]}))
    return reqs


def contract_requests(rng: random.Random) -> list[Request]:
    """The requests whose answers are recorded (after the jobs ran)."""
    r: list[Request] = []
    add = r.append
    # operations and authentication
    add(("none", "GET", "/healthz", None))
    add(("none", "GET", "/readyz", None))
    add(("none", "GET", "/v1/items/sku-001", None))
    add(("bad", "GET", "/v1/items/sku-001", None))
    add(("events", "GET", "/v1/customers/cust-001", None))
    add(("events", "GET", "/v1/models", None))
    add(("other", "GET", "/v1/customers/cust-001", None))
    add(("other", "GET", "/v1/items/sku-001", None))
    add(("other", "GET", "/v1/customers/cust-002/recommendations", None))
    # catalog
    for k in range(0, 60, 2):
        add(("all", "GET", f"/v1/items/sku-{k:03d}", None))
    add(("all", "GET", "/v1/items/nope", None))
    add(("all", "PUT", "/v1/items/sku-new", {"title": "New", "category": "belts", "price": 30}))
    add(("all", "PUT", "/v1/items/sku-new", {"title": "Newer", "category": "belts", "price": 31}))
    add(("all", "PUT", "/v1/items/sku-bad", {"title": "Bad", "price": -1}))
    add(("all", "PUT", "/v1/items/sku-bad", {"title": "Bad", "available": "maybe"}))
    add(("all", "PUT", "/v1/items/sku-bad", {"attributes": [1, 2]}))
    add(("all", "PUT", "/v1/items/%20", {"title": "space id"}))
    add(
        (
            "all",
            "POST",
            "/v1/items/batch",
            {"items": [{"item_id": "sku-b1", "price": 5}, {"price": 3}, {"item_id": "sku-b2"}]},
        )
    )
    add(("all", "POST", "/v1/items/batch", {"items": "not a list"}))
    add(("all", "DELETE", "/v1/items/sku-new", None))
    add(("all", "DELETE", "/v1/items/sku-new", None))
    add(("all", "GET", "/v1/items/sku-new", None))
    # customers
    for c in range(0, 120, 4):
        add(("all", "GET", f"/v1/customers/cust-{c:03d}", None))
    add(("all", "GET", "/v1/customers/ghost", None))
    add(("all", "PUT", "/v1/customers/cust-new", {"attributes": {"segment": "retail"}}))
    add(("all", "PUT", "/v1/customers/cust-new", {"consent": {"personalization": False}}))
    add(("all", "GET", "/v1/customers/cust-new", None))
    add(("all", "PUT", "/v1/customers/cust-bad", {"attributes": "x"}))
    add(("all", "PUT", "/v1/customers/cust-bad", {"consent": {"personalization": "perhaps"}}))
    add(("all", "GET", "/v1/customers/cust-new/export", None))
    add(("all", "DELETE", "/v1/customers/cust-new", None))
    add(("all", "DELETE", "/v1/customers/cust-new", None))
    add(("all", "GET", "/v1/customers/cust-new", None))
    add(("all", "GET", "/v1/customers/ghost/export", None))
    # events
    add(
        (
            "all",
            "POST",
            "/v1/events",
            {
                "events": [
                    {
                        "event_id": "ev-00001",
                        "customer_id": "cust-001",
                        "type": "view",
                        "item_id": "sku-001",
                        "timestamp": "2025-06-01T00:00:00Z",
                    },
                    {
                        "event_id": "x-1",
                        "customer_id": "cust-200",
                        "type": "view",
                        "item_id": "sku-002",
                        "timestamp": "2025-11-20T10:00:00Z",
                    },
                    {"event_id": "x-2", "customer_id": "cust-200", "type": "teleport"},
                    {"event_id": "x-3", "type": "view"},
                    {
                        "event_id": "x-4",
                        "customer_id": "cust-200",
                        "type": "purchase",
                        "item_id": "sku-003",
                        "quantity": -2,
                    },
                    {
                        "event_id": "x-5",
                        "customer_id": "cust-201",
                        "type": "purchase",
                        "item_id": "sku-004",
                        "quantity": 1,
                        "value": 40.0,
                        "timestamp": "2025-11-25T10:00:00Z",
                    },
                    {
                        "event_id": "x-6",
                        "customer_id": "cust-201",
                        "type": "view",
                        "item_id": "sku-005",
                        "timestamp": "2999-01-01T00:00:00Z",
                    },
                ]
            },
        )
    )
    add(("all", "POST", "/v1/events", {"events": {}}))
    add(("all", "POST", "/v1/events", {"nothing": []}))
    # recommendations
    for c in range(0, 120, 2):
        q = rng.choice(
            [
                "",
                "?n=5",
                "?n=3&explain=true",
                "?category=belts",
                "?n=20",
                "?exclude=sku-001,sku-002",
                "?n=4&category=shirts&explain=true",
            ]
        )
        add(("all", "GET", f"/v1/customers/cust-{c:03d}/recommendations{q}", None))
    add(("all", "GET", "/v1/customers/cust-200/recommendations", None))
    add(("all", "GET", "/v1/customers/unknown-9/recommendations?n=4", None))
    add(("all", "GET", "/v1/customers/cust-000/recommendations?n=0", None))
    add(("all", "GET", "/v1/customers/cust-000/recommendations?n=101", None))
    add(("all", "GET", "/v1/customers/cust-000/recommendations?explain=perhaps", None))
    add(("recommend", "GET", "/v1/customers/cust-004/recommendations?n=3", None))
    for k in range(0, 60, 2):
        q = rng.choice(["", "?n=4", "?n=6&category=care"])
        add(("all", "GET", f"/v1/items/sku-{k:03d}/similar{q}", None))
    add(("all", "GET", "/v1/items/missing/similar", None))
    for b in range(20):
        basket = [f"sku-{rng.randrange(60):03d}" for _ in range(1 + b % 3)]
        body: dict[str, Any] = {"items": basket, "n": 1 + b % 6}
        if b % 2:
            body["customer_id"] = f"cust-{b * 5:03d}"
        add(("all", "POST", "/v1/recommendations/cross-sell", body))
    add(("all", "POST", "/v1/recommendations/cross-sell", {"items": []}))
    add(("all", "POST", "/v1/recommendations/cross-sell", {"items": ["sku-001"], "n": 0}))
    # models and policy
    add(("all", "GET", "/v1/models", None))
    add(("all", "POST", "/v1/models/nope/activate", None))
    add(("all", "POST", "/v1/models/..%2F..%2Fetc/activate", None))
    add(("all", "GET", "/v1/policy", None))
    add(("all", "PUT", "/v1/policy", {"allow_repurchase": True}))
    add(("all", "GET", "/v1/customers/cust-002/recommendations?n=5", None))
    add(("all", "PUT", "/v1/policy", {"allow_repurchase": False}))
    add(("all", "PUT", "/v1/policy", {"allow_repurchase": "yes please"}))
    add(("all", "GET", "/v1/policy", None))
    add(("all", "GET", "/v1/items/sku-000/similar?n=3&explain=true", None))
    cross = {"items": ["sku-001"], "customer_id": "cust-002", "n": 3, "explain": True}
    add(("all", "POST", "/v1/recommendations/cross-sell", cross))
    views = {"exclude_interacted": ["view", "purchase"], "allow_repurchase": False}
    add(("all", "PUT", "/v1/policy", views))
    add(("all", "GET", "/v1/customers/cust-002/recommendations?n=5&explain=true", None))
    add(("all", "PUT", "/v1/policy", {"exclude_interacted": ["impression"]}))
    add(("all", "PUT", "/v1/policy", {}))
    add(("all", "GET", "/v1/policy", None))
    # experiments' bad input, feedback and the report (impressions from cust-001's answers)
    split = {"A": 0.5, "B": 0.5}
    add(("all", "PUT", "/v1/experiments/ab", {"arms": {"A": "nope", "B": "nope2"}, "split": split}))
    add(("all", "PUT", "/v1/experiments/ab", {"arms": {"A": "x"}, "split": {"A": 1.0}}))
    bad_split = {"arms": {"A": "x", "B": "y"}, "split": {"A": 0.5, "B": 0.6}}
    add(("all", "PUT", "/v1/experiments/ab", bad_split))
    add(("all", "GET", "/v1/experiments/ab", None))
    add(("all", "DELETE", "/v1/experiments/ab", None))
    feedback: list[dict[str, Any]] = []
    for k in range(6):
        ctx = {"model_version": "v-demo", "experiment_id": "ab", "arm": "AB"[k % 2]}
        base = {"customer_id": f"cust-{k:03d}", "item_id": f"sku-{k:03d}", "context": ctx}
        ts = _rfc3339(START + 331 * DAY + k)
        feedback.append({**base, "event_id": f"imp-{k}", "type": "impression", "timestamp": ts})
        if k < 4:
            feedback.append({**base, "event_id": f"clk-{k}", "type": "click", "timestamp": ts})
        if k < 2:
            feedback.append(
                {**base, "event_id": f"buy-{k}", "type": "purchase", "value": 30.0, "timestamp": ts}
            )
    add(("all", "POST", "/v1/events", {"events": feedback}))
    add(("all", "GET", "/v1/reports/recommendations", None))
    add(("all", "GET", "/v1/reports/recommendations?by=arm&experiment_id=ab", None))
    add(("all", "GET", "/v1/reports/recommendations?from=2025-12-01T00:00:00Z", None))
    add(("all", "GET", "/v1/reports/recommendations?from=2025-12-02&to=2025-12-01", None))
    add(("all", "GET", "/v1/reports/recommendations?by=week", None))
    # insights
    for c in range(0, 120, 3):
        q = "?horizon_days=30" if c % 9 == 0 else ""
        add(("all", "GET", f"/v1/customers/cust-{c:03d}/insights{q}", None))
    add(("all", "GET", "/v1/customers/cust-201/insights", None))
    add(("all", "GET", "/v1/customers/ghost/insights", None))
    add(("all", "GET", "/v1/customers/cust-000/insights?horizon_days=0", None))
    add(("all", "GET", "/v1/insights/pareto", None))
    add(("all", "GET", "/v1/insights/segments", None))
    add(("all", "GET", "/v1/insights/model", None))
    add(("other", "GET", "/v1/insights/pareto", None))
    for m in range(5):
        add(("all", "GET", f"/v1/account-managers/am-{m}/customers", None))
    # configurator
    add(("all", "GET", "/v1/configurator/products", None))
    add(("all", "GET", "/v1/configurator/products/original-spin", None))
    add(("all", "GET", "/v1/configurator/products/logistics-bundle", None))
    add(("all", "GET", "/v1/configurator/products/nope", None))
    spin = "/v1/configurator/products/original-spin/configure"
    bundle = "/v1/configurator/products/logistics-bundle/configure"
    add(("all", "POST", spin, {}))
    add(("all", "POST", spin, {"selections": {"leg_opening": "skinny"}}))
    add(("all", "POST", spin, {"measurements": {"waist_cm": 84, "hip_cm": 100, "inseam_cm": 81}}))
    add(("all", "POST", spin, {"selections": {"fit": "nope"}}))
    add(("all", "POST", spin, {"selections": {"colour": "red"}}))
    add(("all", "POST", spin, {"measurements": {"waist_cm": -3}}))
    add(("all", "POST", spin, {"customer_id": "cust-000"}))
    add(("all", "POST", bundle, {}))
    add(("all", "POST", bundle, {"measurements": {"weight_kg": 700}}))
    add(("all", "POST", bundle, {"selections": {"transport": "air", "cargo": "hazardous"}}))
    add(("all", "POST", bundle, {"selections": {"load_class": "full-load", "transport": "air"}}))
    add(("all", "POST", bundle, {"selections": {"insurance": "all-risk-1m"}}))
    add(("all", "POST", bundle, {"selections": {"handling": "cold-box", "cargo": "chilled"}}))
    add(("all", "GET", "/v1/configurator/variants/garbage", None))
    add(("all", "GET", "/v1/configurator/variants/original-spin.1.AAAAAAAAAA", None))
    add(("all", "GET", "/v1/customers/cust-000/configurations", None))
    return r


def followup_requests(codes: list[str]) -> list[Request]:
    """Requests that need the codes of variants answered earlier in the scenario."""
    r: list[Request] = []
    for code in codes[:4]:
        r.append(("all", "GET", f"/v1/configurator/variants/{code}", None))
        r.append(("all", "POST", "/v1/customers/cust-010/configurations", {"code": code}))
    if codes:
        tampered = codes[0][:-1] + ("A" if codes[0][-1] != "A" else "B")
        r.append(("all", "GET", f"/v1/configurator/variants/{tampered}", None))
    r.append(
        (
            "all",
            "POST",
            "/v1/customers/cust-010/configurations",
            {"product_id": "logistics-bundle", "selections": {"transport": "rail"}},
        )
    )
    r.append(("all", "GET", "/v1/customers/cust-010/configurations", None))
    r.append(("all", "GET", "/v1/customers/cust-010/export", None))
    r.append(("all", "POST", "/v1/customers/cust-010/configurations", {"code": "bad"}))
    return r


# ------------------------------------------------------------------------------- normalising
class Normaliser:
    """Masks what two runs of the same code may answer differently (see module docstring)."""

    def __init__(self) -> None:
        self.versions: dict[str, str] = {}
        self.configurations: dict[str, str] = {}

    def version(self, value: str) -> str:
        return self.versions.setdefault(value, f"<version-{len(self.versions) + 1}>")

    def __call__(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, key) for v in value]
        if key in MASKED_KEYS and value is not None:
            # Masked only when it is the RFC 3339 the contract says (a number stays, and fails).
            return "<time>" if isinstance(value, str) and _RFC3339.match(value) else value
        if key in VERSION_KEYS and isinstance(value, str) and _looks_like_version(value):
            return self.version(value)
        if key == "event_id" and isinstance(value, str) and value.startswith("configuration:"):
            return "<configure-event>"
        if key == "timestamp" and isinstance(value, str) and value > RUN_DATES:
            return "<time>"
        if key == "configuration_id" and isinstance(value, str):
            return self.configurations.setdefault(value, f"<config-{len(self.configurations) + 1}>")
        return value


def _looks_like_version(value: str) -> bool:
    return len(value) >= 19 and value[:8].isdigit() and value[8] == "T"


def secrets_sent() -> list[str]:
    """What the scenario sends that a log must never show: the configurator secret, and the
    customers' ids and attribute values (the keys are made at run time: see ``record``)."""
    # the text values (numbers such as a year would match digits of random request ids)
    values = {
        v for _, body in customers() for v in body["attributes"].values() if isinstance(v, str)
    }
    return [SECRET, *(cid for cid, _ in customers()), *sorted(values)]


#: The keys of the last ``record`` run (what a log must never show either).
KEYS: dict[str, str] = {}


def record(out: Path) -> int:
    rng = random.Random(20251201)
    with tempfile.TemporaryDirectory(prefix="atelier-scenario-") as tmp:
        port = free_port()
        env = environment(Path(tmp), port)
        keys = {
            "all": new_key(env, TENANT, "events,catalog,customers,recommend,configure,admin"),
            "events": new_key(env, TENANT, "events"),
            "recommend": new_key(env, TENANT, "recommend"),
            "other": new_key(env, OTHER_TENANT, "events,catalog,customers,recommend,admin"),
            "bad": "atl_000000000000_not-a-real-key",
        }
        KEYS.clear()
        KEYS.update(keys)
        with server(env, port) as base, httpx.Client(base_url=base, timeout=60) as http:
            for name, method, path, body in setup_requests(rng):
                answer = send(http, keys, name, method, path, body)
                if answer.status_code >= 300:
                    raise RuntimeError(
                        f"set-up {method} {path}: {answer.status_code} {answer.text}"
                    )
        atelier(env, "insights", "--tenant", TENANT, "--as-of", AS_OF)
        atelier(
            env,
            "train",
            "--tenant",
            TENANT,
            "--model",
            "ease",
            "--param",
            "l2=50",
            "--publish",
            "--no-progress",
        )
        normalise = Normaliser()
        lines: list[str] = []
        with server(env, port) as base, httpx.Client(base_url=base, timeout=60) as http:
            codes: list[str] = []
            for name, method, path, body in contract_requests(rng):
                answer = send(http, keys, name, method, path, body)
                lines.append(entry(normalise, method, path, body, answer))
                codes.extend(_codes(answer))
            for name, method, path, body in followup_requests(sorted(dict.fromkeys(codes))):
                answer = send(http, keys, name, method, path, body)
                lines.append(entry(normalise, method, path, body, answer))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(line + "\n" for line in lines))
        return len(lines)


def send(
    http: httpx.Client, keys: dict[str, str], name: str, method: str, path: str, body: Any
) -> httpx.Response:
    headers = {} if name == "none" else {"Authorization": f"Bearer {keys[name]}"}
    return http.request(method, path, headers=headers, json=body)


def entry(normalise: Normaliser, method: str, path: str, body: Any, answer: httpx.Response) -> str:
    media = answer.headers.get("content-type", "")
    content: Any = normalise(answer.json()) if "json" in media else answer.text
    return json.dumps(
        {
            "request": f"{method} {path}",
            "status": answer.status_code,
            "media_type": media,
            "retry_after": answer.headers.get("retry-after"),
            "body": content,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _codes(answer: httpx.Response) -> list[str]:
    if "json" not in answer.headers.get("content-type", "") or answer.status_code != 200:
        return []
    doc = answer.json()
    found = []
    for key in ("variant", "suggested"):
        part = doc.get(key) if isinstance(doc, dict) else None
        if isinstance(part, dict) and isinstance(part.get("code"), str):
            found.append(part["code"])
    return found


#: How far a recommended item's ``score`` may move between CPUs, as a share of the answer's
#: largest score: the dense models solve in float32, and OpenBLAS picks its kernels (and so its
#: summation order) by CPU. Between an Intel and an AMD host the recorded scores moved by up to
#: 0.15% of the top score, every item and its place the same.
SCORE_TOLERANCE = 5e-3


def same_answer(expected: object, actual: object) -> bool:
    """Equal JSON values; floats equal to a relative 1e-6 (bools and ints exactly), recommended
    items' scores to :data:`SCORE_TOLERANCE` of the answer's largest (items and order exactly)."""
    if isinstance(expected, float) or isinstance(actual, float):
        if isinstance(expected, bool) or isinstance(actual, bool):
            return False
        if not isinstance(expected, int | float) or not isinstance(actual, int | float):
            return False
        return math.isclose(expected, actual, rel_tol=1e-6, abs_tol=1e-12)
    if isinstance(expected, dict) and isinstance(actual, dict):
        if expected.keys() != actual.keys():
            return False
        fitted = "params" in expected and "log_likelihood" in expected
        return all(
            _same_fit(expected[k], actual[k])
            if fitted and k == "params"
            else _same_items(expected[k], actual[k])
            if k == "items" and _scored(expected[k])
            else same_answer(expected[k], actual[k])
            for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(map(same_answer, expected, actual))
    return type(expected) is type(actual) and expected == actual


def _scored(value: object) -> bool:
    """A list of recommended items, each with a float ``score``."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(i, dict) and isinstance(i.get("score"), float) for i in value)
    )


def _same_items(expected: list[Any], actual: object) -> bool:
    """The same items in the same order, each field exact but the score (see
    :data:`SCORE_TOLERANCE`)."""
    if not isinstance(actual, list) or not _scored(actual) or len(expected) != len(actual):
        return False
    scale = SCORE_TOLERANCE * max(abs(i["score"]) for i in expected)
    return all(
        e.keys() == a.keys()
        and abs(e["score"] - a["score"]) <= scale
        and all(same_answer(e[k], a[k]) for k in e if k != "score")
        for e, a in zip(expected, actual, strict=True)
    )


def _same_fit(expected: object, actual: object) -> bool:
    """The same parameters of a fit (their values vouched for by the equal likelihood)."""
    return (
        isinstance(expected, dict)
        and isinstance(actual, dict)
        and expected.keys() == actual.keys()
        and all(isinstance(v, int | float) and math.isfinite(v) for v in actual.values())
    )


def keep_agreeing(before: list[str], after: list[str]) -> list[str]:
    """``after``, with each line that agrees with ``before``'s (:func:`same_answer`) kept as it
    was: a re-recording then changes only the answers that changed.

    >>> keep_agreeing(['{"a": 1.0000001}', '{"b": 1}'], ['{"a": 1.0}', '{"b": 2}'])
    ['{"a": 1.0000001}', '{"b": 2}']
    """
    return [
        old if old == new or same_answer(json.loads(old), json.loads(new)) else new
        for old, new in zip(before, after, strict=False)
    ] + after[len(before) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON-lines file to write")
    parser.add_argument(
        "--keep-agreeing",
        action="store_true",
        help="keep each line of an existing --out whose answer agrees with the new one "
        "(floats to a relative 1e-6): the diff shows only what changed",
    )
    args = parser.parse_args(argv)
    before = args.out.read_text().splitlines() if args.keep_agreeing and args.out.exists() else []
    count = record(args.out)
    if before:
        lines = keep_agreeing(before, args.out.read_text().splitlines())
        args.out.write_text("".join(line + "\n" for line in lines))
    print(f"{count} answers written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
