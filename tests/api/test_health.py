"""/healthz, /readyz, /metrics and the served OpenAPI document."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker
from tests.api.test_recommendations import publish, seed

API_MD = Path(__file__).resolve().parents[3] / "shared" / "product" / "API.md"


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 60  # start-up loads models in the background
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_metrics_count_requests_per_route_and_events(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    client.get("/v1/customers/c-404", headers=h)
    ev = {"event_id": "m1", "customer_id": "c", "item_id": "i", "type": "view"}
    client.post("/v1/events", json={"events": [ev, {"type": "bad"}]}, headers=h)
    text = client.get("/metrics").text
    assert (
        'atelier_http_requests_total{method="GET",route="/v1/customers/{customer_id}",status="404"}'
        in text
    )
    assert (
        'atelier_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/events"}'
        in text
    )
    assert 'atelier_events_ingested_total{outcome="accepted"}' in text
    assert 'atelier_events_ingested_total{outcome="rejected"}' in text


def _ingested(text: str) -> dict[str, float]:
    """``{labels: value}`` of the accepted-events counter in a scrape."""
    out = {}
    for line in text.splitlines():
        if line.startswith("atelier_events_ingested_total{") and 'outcome="accepted"' in line:
            labels, value = line.rsplit(" ", 1)
            out[labels.removeprefix("atelier_events_ingested_total")] = float(value)
    return out


def test_metrics_name_tenants_only_to_an_admin_key_of_that_tenant(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    for tenant, n in (("shop", 2), ("bank-x", 3)):
        events = [
            {"event_id": f"{tenant}-{k}", "customer_id": "c", "item_id": "i", "type": "view"}
            for k in range(n)
        ]
        assert (
            client.post("/v1/events", json={"events": events}, headers=auth(tenant)).status_code
            == 202
        )
    public = client.get("/metrics").text
    assert "tenant=" not in public and "bank-x" not in public
    totals = _ingested(public)
    assert list(totals) == ['{outcome="accepted"}']
    # A key without the admin scope sees the public scrape; a wrong key is refused.
    assert "tenant=" not in client.get("/metrics", headers=auth("shop", "events")).text
    bad = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.headers["content-type"].startswith("application/problem")
    # An admin key: its own tenant, the others added up under a name no tenant can have.
    own = _ingested(client.get("/metrics", headers=auth("shop")).text)
    assert set(own) == {
        '{outcome="accepted",tenant="shop"}',
        '{outcome="accepted",tenant="(others)"}',
    }
    assert own['{outcome="accepted",tenant="shop"}'] >= 2
    assert sum(own.values()) == pytest.approx(sum(totals.values()))  # the same total, split
    # The opt-in setting (a private scrape) names every tenant.
    every = settings.model_copy(update={"metrics_tenant_labels": True})
    with TestClient(create_app(every, store), raise_server_exceptions=False) as private:
        shown = _ingested(private.get("/metrics").text)
    assert '{outcome="accepted",tenant="bank-x"}' in shown
    assert '{outcome="accepted",tenant="shop"}' in shown
    assert sum(shown.values()) == pytest.approx(sum(totals.values()))


def test_openapi_has_every_foundation_path_of_the_contract(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        "/v1/items/{item_id}": {"put", "get", "delete"},
        "/v1/items/batch": {"post"},
        "/v1/customers/{customer_id}": {"put", "get", "delete"},
        "/v1/customers/{customer_id}/export": {"get"},
        "/v1/account-managers/{manager_id}/customers": {"get"},
        "/v1/events": {"post"},
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/metrics": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
        if API_MD.exists():
            assert path.split("{")[0].rstrip("/") in API_MD.read_text()
    assert paths["/v1/events"]["post"]["responses"].keys() >= {"202", "401", "413", "422", "429"}
    assert client.get("/docs").status_code == 200


def _readyz_detail(client: TestClient) -> tuple[int, str]:
    r = client.get("/readyz")
    return r.status_code, r.json().get("detail", "")


def _bad_version(store: Store, settings: Settings) -> str:
    """An item-kNN version activated by another process through the store (no validation) and
    damaged on disk: a neighbour index outside the catalog, which segfaulted workers in scipy
    before validation."""
    bad = publish(store, settings, "shop", model="itemknn", params={})
    path = settings.models_dir / "shop" / bad / "sim_indices_.npy"
    indices = np.load(path)
    indices[0] = 10_000
    np.save(path, indices)
    assert store.activate_model("shop", bad)
    return bad


def test_a_corrupt_active_version_at_start_up_is_refused_and_explained(
    store: Store, settings: Settings, auth: KeyMaker, caplog: pytest.LogCaptureFixture
) -> None:
    h = auth("shop")
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as setup:
        seed(setup, h)
    good = publish(store, settings, "shop")
    bad = _bad_version(store, settings)
    caplog.set_level(logging.INFO, "atelier.recommender")
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as worker:
        deadline = time.monotonic() + 20
        while worker.app.state.recommender.registry.started is False:  # type: ignore[attr-defined]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for _ in range(20):  # requests and readiness probes: refused, logged once
            body = worker.get("/v1/customers/c0/recommendations", headers=h).json()
            assert body["model_version"] is None and body["fallback"] == "popular"
            status, detail = _readyz_detail(worker)
            assert status == 503
        assert detail.startswith(f"not ready: models (tenant 'shop': model version '{bad}' ")
        assert (
            "sim_indices_ holds indices from 0 to 10000, outside [0, 12)" in detail
            and "(serving no model)" in detail
        )
        logged = [
            r for r in caplog.records if bad in r.getMessage() and "refused" in r.getMessage()
        ]
        assert len(logged) == 1 and logged[0].levelno == logging.ERROR
        # the roll-back: ready again at once, serving the good version
        assert worker.post(f"/v1/models/{good}/activate", headers=h).status_code == 200
        assert _readyz_detail(worker) == (200, "")
        assert (
            worker.get("/v1/customers/c0/recommendations", headers=h).json()["model_version"]
            == good
        )


def test_a_running_worker_keeps_serving_when_the_new_version_is_bad(
    client: TestClient, store: Store, settings: Settings, auth: KeyMaker
) -> None:
    h = auth("shop")
    seed(client, h)
    good = publish(store, settings, "shop")
    assert client.get("/v1/customers/c0/recommendations", headers=h).json()["model_version"] == good
    bad = _bad_version(store, settings)
    # The worker learns of the new version and loads it in the background: until it has been
    # refused, and after, every answer comes from the good version.
    deadline = time.monotonic() + 20
    while True:
        body = client.get("/v1/customers/c0/recommendations", headers=h).json()
        assert body["model_version"] == good and body["fallback"] is None
        status, detail = _readyz_detail(client)
        if status == 503:
            break
        assert time.monotonic() < deadline, "the bad version was never refused"
        time.sleep(0.05)
    assert f"model version '{bad}'" in detail and f"(serving '{good}')" in detail
    for _ in range(10):
        body = client.get("/v1/customers/c0/recommendations", headers=h).json()
        assert body["model_version"] == good and body["fallback"] is None
    fixed = publish(store, settings, "shop", model="itemknn", params={})  # a fixed version
    assert client.post(f"/v1/models/{fixed}/activate", headers=h).status_code == 200
    deadline = time.monotonic() + 20
    while _readyz_detail(client)[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
