"""Retention, share of customer, segments by needs or attribute, and the rows' new fields over
HTTP, on both backends; bad input names its field."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from store.base import Store
from tests.api.conftest import KeyMaker
from tests.api.test_insights import AS_OF, DAY, N, run_insights, shop  # noqa: F401  (the fixture)


def test_retention(client: TestClient, auth: KeyMaker, shop: Store) -> None:  # noqa: F811
    h = auth("shop", "customers")
    month = client.get("/v1/insights/retention", headers=h).json()
    assert month["period"] == "month" and month["periods"]
    first = month["periods"][0]
    assert first["new"] == first["active"] and first["churned"] == 0
    for p in month["periods"][1:]:
        assert (
            p["retained"] + p["churned"] >= 0
            and p["active"] == p["new"] + p["retained"] + p["reactivated"]
        )
    assert sum(c["customers"] for c in month["cohorts"]) == N
    assert all(c["retention"][0] == 1.0 for c in month["cohorts"])
    assert month["acquisition_cost"] == 25.0
    quarter = client.get("/v1/insights/retention?period=quarter", headers=h).json()
    assert len(quarter["periods"]) < len(month["periods"])
    bad = client.get("/v1/insights/retention?period=week3", headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "period"]


def test_share_of_customer_and_rows(client: TestClient, auth: KeyMaker, shop: Store) -> None:  # noqa: F811
    h = auth("shop", "customers")
    kpi = client.get("/v1/insights/share-of-customer", headers=h).json()
    assert kpi["customers"] == N and 0 < kpi["share_of_wallet"] <= 1
    assert set(kpi["by_tier"]) == {"MVC", "MGC", "standard", "BZ"}
    assert kpi["change"] is None  # the first run
    row = client.get("/v1/customers/c01/insights", headers=h).json()
    assert row["wallet_source"] == "peer_estimate" and 0 < row["share_of_wallet"] <= 1
    assert row["wallet_gap"] == pytest.approx(
        row["wallet_estimate"] * (1 - row["share_of_wallet"]), rel=1e-9, abs=1e-9
    )
    assert row["needs_segment"] is not None and row["needs_label"]


def test_share_of_customer_keeps_its_runs(
    client: TestClient,
    auth: KeyMaker,
    shop: Store,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = auth("shop", "customers")
    first = client.get("/v1/insights/share-of-customer", headers=h).json()
    assert [r["share_of_wallet"] for r in first["runs"]] == [first["share_of_wallet"]]
    later = time.strftime("%Y-%m-%d", time.gmtime(AS_OF + 30 * DAY))
    run_insights(shop, tmp_path, monkeypatch, "--tenant", "shop", "--as-of", later)
    second = client.get("/v1/insights/share-of-customer", headers=h).json()
    assert len(second["runs"]) == 2 and second["runs"][0] == first["runs"][0]
    assert second["runs"][1]["computed_at"] == second["computed_at"]
    assert second["runs"][1]["share_of_wallet"] == second["share_of_wallet"]
    assert second["change"]["share_of_wallet"] == pytest.approx(
        second["share_of_wallet"] - first["share_of_wallet"]
    )


def test_segments_by(client: TestClient, auth: KeyMaker, shop: Store) -> None:  # noqa: F811
    h = auth("shop", "customers")
    needs = client.get("/v1/insights/segments?by=needs", headers=h).json()
    assert sum(s["customers"] for s in needs["segments"].values()) == N
    assert all(s["label"] for s in needs["segments"].values())
    tier = client.get("/v1/insights/segments?by=tier", headers=h).json()
    assert sum(s["customers"] for s in tier["segments"].values()) == N
    attr = client.get("/v1/insights/segments?by=attribute:region", headers=h).json()
    assert attr["segments"]["(none)"]["customers"] == N  # no profile says a region
    bad = client.get("/v1/insights/segments?by=colour", headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "by"]
