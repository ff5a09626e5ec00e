"""/healthz, /readyz, /metrics and the served OpenAPI document."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import KeyMaker

API_MD = Path(__file__).resolve().parents[3] / "shared" / "product" / "API.md"


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 20  # start-up loads models in the background
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
    assert 'atelier_events_ingested_total{outcome="accepted",tenant="shop"}' in text
    assert 'atelier_events_ingested_total{outcome="rejected",tenant="shop"}' in text


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
