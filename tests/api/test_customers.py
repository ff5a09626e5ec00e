"""/v1/customers and the account manager's list: profiles, erasure, export."""

from __future__ import annotations

from fastapi.testclient import TestClient

from store.base import Store
from tests.api.conftest import KeyMaker


def test_profile_round_trip(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    body = {
        "attributes": {"segment": "trade"},
        "consent": {"personalization": False},
        "account_manager": "am-1",
    }
    r = client.put("/v1/customers/c1", json=body, headers=h)
    assert r.status_code == 201
    got = client.get("/v1/customers/c1", headers=h).json()
    assert got["attributes"] == {"segment": "trade"}
    assert got["consent"]["personalization"] is False and got["account_manager"] == "am-1"
    assert got["consent"]["channels"] == {
        "email": False,
        "phone": False,
        "sms": False,
        "post": False,
    }
    assert client.put("/v1/customers/c1", json={}, headers=h).status_code == 200
    assert client.get("/v1/customers/c1", headers=h).json()["account_manager"] is None


def test_customer_known_only_by_events_has_a_default_profile(
    client: TestClient, auth: KeyMaker
) -> None:
    h = auth()
    ev = {"event_id": "e1", "customer_id": "anon-7", "item_id": "i", "type": "view"}
    client.post("/v1/events", json={"events": [ev]}, headers=h)
    got = client.get("/v1/customers/anon-7", headers=h).json()
    assert got["has_profile"] is False and got["consent"]["personalization"] is True
    assert client.get("/v1/customers/nobody", headers=h).status_code == 404


def test_invalid_profile(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    r = client.put("/v1/customers/c1", json={"consent": {"personalization": "sure"}}, headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "consent", "personalization"]
    r = client.put("/v1/customers/c1", json={"account_manager": ""}, headers=h)
    assert r.json()["errors"][0]["loc"] == ["body", "account_manager"]


def test_erasure_removes_everything_and_export_shows_everything(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    h = auth()
    client.put("/v1/customers/c1", json={"account_manager": "am-1"}, headers=h)
    events = [
        {
            "event_id": f"e{i}",
            "customer_id": "c1",
            "item_id": f"i{i}",
            "type": "purchase",
            "value": 10.0,
        }
        for i in range(3)
    ]
    client.post("/v1/events", json={"events": events}, headers=h)
    store.save_configuration("shop", "c1", {"code": "OS-1"})
    store.put_insights_rows("shop", {"c1": {"tier": "MVC"}})
    export = client.get("/v1/customers/c1/export", headers=h).json()
    assert export["profile"]["account_manager"] == "am-1"
    assert [e["event_id"] for e in export["events"]] == ["e0", "e1", "e2"]
    assert {x["item_id"] for x in export["history"]} == {"i0", "i1", "i2"}
    assert export["configurations"][0]["code"] == "OS-1" and export["insights"] == {"tier": "MVC"}

    assert client.delete("/v1/customers/c1", headers=h).status_code == 204
    assert client.get("/v1/customers/c1", headers=h).status_code == 404
    assert client.get("/v1/customers/c1/export", headers=h).status_code == 404
    assert client.get("/v1/account-managers/am-1/customers", headers=h).json()["customers"] == []
    assert store.customer_items("shop", "c1").item_ids == []
    assert len(store.events_frame("shop")) == 0
    assert client.delete("/v1/customers/c1", headers=h).status_code == 404


def test_account_manager_list_is_ordered_by_priority(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    h = auth()
    for cid in ("a", "b", "c", "d"):
        client.put(f"/v1/customers/{cid}", json={"account_manager": "am-1"}, headers=h)
    client.put("/v1/customers/e", json={"account_manager": "am-2"}, headers=h)
    store.put_insights(
        "shop",
        {},
        {
            "a": {
                "tier": "standard",
                "churn_risk": 0.1,
                "next_best_action": {"action": "cross_sell", "reason": "r", "priority": 0.2},
            },
            "b": {
                "tier": "MVC",
                "churn_risk": 0.8,
                "next_best_action": {"action": "retain", "reason": "r", "priority": 0.9},
            },
            "c": {
                "tier": "BZ",
                "churn_risk": 0.5,
                "next_best_action": {"action": "self_service", "reason": "r", "priority": 0.05},
            },
        },
    )
    body = client.get("/v1/account-managers/am-1/customers", headers=h).json()
    assert [c["customer_id"] for c in body["customers"]] == ["b", "a", "c", "d"]
    assert body["customers"][0]["tier"] == "MVC" and body["customers"][0]["churn_risk"] == 0.8
    assert body["customers"][3]["tier"] is None


def test_a_get_answer_can_be_sent_back_to_put(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    body = {"attributes": {"segment": "trade"}, "consent": {"channels": {"email": True}}}
    client.put("/v1/customers/c9", json=body, headers=h)
    got = client.get("/v1/customers/c9", headers=h).json()
    assert {"customer_id", "updated_at", "has_profile", "facts"} <= set(got)
    r = client.put("/v1/customers/c9", json={**got, "account_manager": "am-2"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["attributes"] == {"segment": "trade"} and r.json()["account_manager"] == "am-2"
    assert r.json()["consent"]["channels"]["email"] is True
    r = client.put("/v1/customers/c9", json={**got, "customer_id": "c10"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "customer_id"]
    assert client.get("/v1/customers/c10", headers=h).status_code == 404
