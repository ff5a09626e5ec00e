"""What the dialogue records change in a job run, on both backends: a declared wallet is the
customer's wallet (``wallet_source: "declared"``), contacts cost money at the tenant's price per
contact (much service and little value: BZ), and an open complaint makes ``recover`` the action."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.records import Customer
from store.base import Store
from tests.api.conftest import KeyMaker
from tests.api.test_insights import AS_OF, run_insights, shop_events

DAY_TEXT = time.strftime("%Y-%m-%d", time.gmtime(AS_OF))
WALLET_Q = {"text": "Spend a year?", "kind": "number", "attribute": "wallet"}


def _run(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict]:
    run_insights(store, tmp_path, monkeypatch, "--tenant", "shop", "--as-of", DAY_TEXT)
    return dict(store.iter_insights_rows("shop"))


def test_declared_wallet_contacts_and_complaints(
    client: TestClient,
    auth: KeyMaker,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = auth("shop")
    store.add_events("shop", shop_events())
    before = _run(store, tmp_path, monkeypatch)
    assert {r["wallet_source"] for r in before.values()} == {"peer_estimate"}
    # The least valuable customer who still pays their way: cheap to serve so far.
    cheap = min((r for r in before.values() if r["tier"] != "BZ"), key=lambda r: r["clv"])
    cid, big = cheap["customer_id"], max(before.values(), key=lambda r: r["clv"])["customer_id"]
    for c in (cid, big):
        store.put_customer("shop", Customer(c))

    assert client.put("/v1/questions/wallet", json=WALLET_Q, headers=h).status_code in (200, 201)
    said = {"question_id": "wallet", "value": 123456.0}
    assert client.post(f"/v1/customers/{big}/answers", json=said, headers=h).status_code == 201
    contact = {"channel": "phone", "direction": "inbound", "timestamp": AS_OF - 30 * 86400}
    for k in range(60):  # a customer who calls every week and brings little
        r = client.post(
            f"/v1/customers/{cid}/contacts", json={**contact, "contact_id": f"k{k}"}, headers=h
        )
        assert r.status_code == 201
    complaint = {"case_id": "late", "kind": "complaint", "category": "delivery", "severity": 5}
    assert client.post(f"/v1/customers/{big}/cases", json=complaint, headers=h).status_code == 201

    after = _run(store, tmp_path, monkeypatch)
    assert after[big]["wallet_source"] == "declared"
    assert after[big]["wallet_estimate"] == 123456.0
    assert after[big]["wallet_gap"] == pytest.approx(123456.0 - after[big]["annual_spend"])
    assert after[big]["next_best_action"]["action"] == "recover"
    assert after[big]["next_best_action"]["cases"] == ["late"]
    assert after[cid]["clv"] == pytest.approx(cheap["clv"])  # the same value ...
    assert after[cid]["net_value"] < cheap["net_value"] - 100  # ... costs more to serve
    assert after[cid]["tier"] == "BZ"
    body = client.get(f"/v1/customers/{cid}/insights", headers=h).json()
    assert body["tier"] == "BZ" and body["next_best_action"]["channel"] == "self_service"

    # A purchase refreshes the row: the contacts still count, the declared wallet stays.
    buy = {"event_id": "late-buy", "customer_id": cid, "type": "purchase", "item_id": "i0",
           "value": 1.0, "timestamp": AS_OF + 86400}  # fmt: skip
    assert client.post("/v1/events", json={"events": [buy]}, headers=h).status_code == 202
    refreshed = store.get_insights_row("shop", cid)
    assert (
        refreshed is not None
        and refreshed["history"]["purchases"] == cheap["history"]["purchases"] + 1
    )
    assert refreshed["tier"] == "BZ"
    assert store.get_insights_row("shop", big)["wallet_source"] == "declared"  # type: ignore[index]
    free = client.put("/v1/insights/config", headers=h, json={"cost_to_serve": {"per_contact": 0}})
    assert free.status_code == 200
    again = _run(store, tmp_path, monkeypatch)
    assert again[cid]["net_value"] == pytest.approx(cheap["net_value"])  # contacts now free
    assert again[cid]["tier"] == cheap["tier"]
