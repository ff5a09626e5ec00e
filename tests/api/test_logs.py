"""Operator logs: one JSON line per request with its route template and request id; never a
key, a path's customer id, an attribute or a body."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from core.logs import configure_logging
from settings import Settings
from store.base import Store
from store.outage import ErrorOutageLog
from tests.api.conftest import KeyMaker


def _lines(err: str, logger: str = "atelier.access") -> list[dict[str, object]]:
    docs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [d for d in docs if d["logger"] == logger]


def test_one_json_line_per_request_and_nothing_private(
    client: TestClient, auth: KeyMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    h = auth("shop", "customers")
    secret = h["Authorization"].split()[1]
    capsys.readouterr()
    body = {"attributes": {"email": "ada@example.org", "wallet": 123456.5}}
    r = client.put("/v1/customers/cust-private-77", json=body, headers=h)
    assert r.status_code == 201
    made = r.headers["x-request-id"]
    r = client.get("/v1/customers/cust-private-77", headers={**h, "X-Request-ID": "trace-abc.1"})
    assert r.headers["x-request-id"] == "trace-abc.1"
    r = client.get("/v1/customers/x", headers={**h, "X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"
    client.get("/healthz")
    err = capsys.readouterr().err
    lines = _lines(err)
    assert [(d["method"], d["route"], d["status"]) for d in lines] == [
        ("PUT", "/v1/customers/{customer_id}", 201),
        ("GET", "/v1/customers/{customer_id}", 200),
        ("GET", "/v1/customers/{customer_id}", 404),
        ("GET", "/healthz", 200),
    ]
    assert [d["request_id"] for d in lines[:2]] == [made, "trace-abc.1"]
    assert lines[0]["tenant"] == "shop" and lines[3]["tenant"] is None
    assert all(isinstance(d["duration_ms"], float) and str(d["time"]).endswith("Z") for d in lines)
    for private in (secret, "cust-private-77", "ada@example.org", "123456.5", "wallet"):
        assert private not in err


def test_hot_routes_and_unmatched_paths_are_logged(
    client: TestClient, auth: KeyMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    h = auth("shop", "recommend")
    capsys.readouterr()
    assert client.get("/v1/customers/c-9/recommendations", headers=h).status_code == 200
    assert client.get("/nowhere/c-9").status_code == 404
    lines = _lines(capsys.readouterr().err)
    assert [(d["route"], d["status"]) for d in lines] == [
        ("/v1/customers/{customer_id}/recommendations", 200),
        ("unmatched", 404),
    ]
    assert lines[0]["tenant"] == "shop"


def test_level_and_text_format_come_from_settings(
    store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, log_format="text", rate_limit_requests=0)
    with TestClient(create_app(settings, store)) as c:
        capsys.readouterr()
        c.get("/healthz", headers={"X-Request-ID": "r-1"})
        # Background start-up work (the configurator's compile) may log around the request.
        lines = capsys.readouterr().err.strip().splitlines()
    access = [line for line in lines if "atelier.access request" in line]
    assert len(access) == 1, lines
    line = access[0]
    assert " INFO " in line
    assert "route=/healthz" in line and "status=200" in line and "request_id=r-1" in line
    quiet = Settings(data_dir=tmp_path, log_level="warning", rate_limit_requests=0)
    with TestClient(create_app(quiet, store)) as c:
        capsys.readouterr()
        c.get("/healthz")
        assert "atelier.access" not in capsys.readouterr().err
    configure_logging()  # back to the defaults for the tests after this one


def test_one_line_per_store_outage(caplog: pytest.LogCaptureFixture) -> None:
    outages = ErrorOutageLog(quiet_s=60)
    with caplog.at_level(logging.WARNING, "atelier.store"):
        logged = [outages.report("connection refused") for _ in range(5)]
    assert logged == [True, False, False, False, False]
    assert [r.getMessage() for r in caplog.records] == ["store unavailable"]
    assert caplog.records[0].reason == "connection refused"  # type: ignore[attr-defined]
    outages.quiet_s = 0  # the next error comes after the quiet time: a new outage
    assert outages.report("connection refused")
    assert caplog.records[-1].errors_before == 4  # type: ignore[attr-defined]
