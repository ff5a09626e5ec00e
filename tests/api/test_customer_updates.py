"""Profiles that are safe to update (PATCH, batch, consent per channel) and merges, over HTTP
on both backends."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

from store.base import Store
from tests.api.conftest import KeyMaker

MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def test_patch_changes_only_what_is_sent(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    body = {"attributes": {"segment": "trade", "city": "Lyon"}, "account_manager": "am-1"}
    client.put("/v1/customers/c1", json=body, headers=h)
    r = client.patch(
        "/v1/customers/c1",
        content=b'{"account_manager": "am-2", "attributes": {"city": null, "vip": true}}',
        headers={**h, **MERGE_PATCH},
    )
    assert r.status_code == 200
    got = r.json()
    assert got["attributes"] == {"segment": "trade", "vip": True}  # segment survives
    assert got["account_manager"] == "am-2"
    r = client.patch(
        "/v1/customers/c1", json={"consent": {"channels": {"email": True, "sms": True}}}, headers=h
    )
    consent = r.json()["consent"]
    assert consent == {
        "personalization": True,
        "channels": {"email": True, "phone": False, "sms": True, "post": False},
    }
    r = client.patch("/v1/customers/c1", json={"consent": {"channels": {"sms": None}}}, headers=h)
    assert r.json()["consent"]["channels"]["sms"] is False
    assert r.json()["consent"]["channels"]["email"] is True
    r = client.patch("/v1/customers/c1", json={"account_manager": None}, headers=h)
    assert r.json()["account_manager"] is None and r.json()["attributes"]["segment"] == "trade"
    assert client.patch("/v1/customers/nobody", json={}, headers=h).status_code == 404
    for bad, loc in [
        ({"consent": {"channels": {"fax": True}}}, ["body", "consent", "channels", "fax", "[key]"]),
        ({"consent": {"personalization": "yes"}}, ["body", "consent", "personalization"]),
        ({"consent": {"channels": {"email": 1}}}, ["body", "consent", "channels", "email"]),
        ({"colour": "red"}, ["body", "colour"]),
    ]:
        r = client.patch("/v1/customers/c1", json=bad, headers=h)
        assert r.status_code == 422 and loc in [e["loc"] for e in r.json()["errors"]], bad


def test_put_takes_consent_per_channel(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    body = {"consent": {"personalization": True, "channels": {"post": True}}}
    assert client.put("/v1/customers/c1", json=body, headers=h).status_code == 201
    got = client.get("/v1/customers/c1", headers=h).json()["consent"]["channels"]
    assert got == {"email": False, "phone": False, "sms": False, "post": True}


def test_batch_accepts_the_valid_and_reports_the_rest_by_index(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    h = auth()
    body = {
        "customers": [
            {"customer_id": "b1", "attributes": {"segment": "retail"}},
            {"customer_id": "", "attributes": {}},
            {
                "customer_id": "b2",
                "consent": {"channels": {"email": True}},
                "account_manager": "am",
            },
            {"customer_id": "b3", "consent": {"personalization": 0}},
        ]
    }
    r = client.post("/v1/customers/batch", json=body, headers=h)
    assert r.status_code == 200
    assert r.json()["upserted"] == 2
    assert [(e["index"], e["errors"][0]["loc"]) for e in r.json()["errors"]] == [
        (1, ["customer_id"]),
        (3, ["consent", "personalization"]),
    ]
    profile = store.get_customer("shop", "b2")
    assert profile is not None and profile.consent_channels["email"] is True
    assert store.get_customer("shop", "b3") is None
    big = {"customers": [{"customer_id": f"x{i}"} for i in range(10_001)]}
    assert client.post("/v1/customers/batch", json=big, headers=h).status_code == 413


def test_merge_over_http(client: TestClient, auth: KeyMaker, store: Store) -> None:
    h = auth()
    other = auth("other")
    for cid in ("web-1", "shop-1"):
        client.put(f"/v1/customers/{cid}", json={"attributes": {cid: True}}, headers=h)
        ev = {
            "event_id": f"{cid}-e",
            "customer_id": cid,
            "item_id": "i1",
            "type": "purchase",
            "value": 5,
        }
        client.post("/v1/events", json={"events": [ev]}, headers=h)
    client.post(
        "/v1/customers/web-1/contacts", json={"channel": "chat", "direction": "inbound"}, headers=h
    )
    client.put("/v1/customers/theirs", json={}, headers=other)

    r = client.post("/v1/customers/shop-1/merge", json={"from": ["web-1"]}, headers=h)
    assert r.status_code == 200
    assert r.json()["aliases"] == ["web-1"] and r.json()["moved"]["events"] == 1
    via_alias = client.get("/v1/customers/web-1", headers=h).json()
    assert via_alias["customer_id"] == "shop-1"
    assert via_alias["attributes"] == {"shop-1": True, "web-1": True}
    assert len(client.get("/v1/customers/web-1/contacts", headers=h).json()["contacts"]) == 1
    late = {"event_id": "late", "customer_id": "web-1", "item_id": "i2", "type": "view"}
    assert client.post("/v1/events", json={"events": [late]}, headers=h).json()["accepted"] == 1
    assert {e.customer_id for e in store.customer_events("shop", "shop-1")} == {"shop-1"}
    assert len(store.customer_events("shop", "shop-1")) == 3
    export = client.get("/v1/customers/shop-1/export", headers=h).json()
    assert export["aliases"] == ["web-1"] and len(export["contacts"]) == 1

    def refused(target: str, sources: list[str]) -> tuple[int, list[object]]:
        r = client.post(f"/v1/customers/{target}/merge", json={"from": sources}, headers=h)
        return r.status_code, [e["loc"] for e in r.json().get("errors") or []]

    assert refused("shop-1", ["shop-1"]) == (422, [["body", "from", 0]])
    assert refused("shop-1", ["theirs"])[0] == 404  # another tenant's id
    assert refused("web-1", ["shop-1"]) == (422, [["path", "customer_id"]])  # a cycle
    assert refused("shop-1", [])[0] == 422
    r = client.post("/v1/customers/shop-1/merge", json={"form": ["x"]}, headers=h)
    assert r.status_code == 422

    assert client.delete("/v1/customers/web-1", headers=h).status_code == 204
    for cid in ("web-1", "shop-1"):
        assert client.get(f"/v1/customers/{cid}", headers=h).status_code == 404
    assert store.resolve_customers("shop", ["web-1"]) == {}


def test_concurrent_patches_of_different_fields_all_survive(
    client: TestClient, auth: KeyMaker
) -> None:
    """Eight clients patch one profile at once, each its own attribute (and one the manager):
    every change is there afterwards (read-merge-write is one transaction on both backends)."""
    h = auth()
    client.put("/v1/customers/c1", json={"attributes": {"segment": "trade"}}, headers=h)
    barrier = threading.Barrier(8)

    def patch(i: int) -> int:
        barrier.wait()
        body = {"account_manager": "am-9"} if i == 0 else {"attributes": {f"k{i}": i}}
        for _ in range(5):
            r = client.patch("/v1/customers/c1", json=body, headers=h)
            assert r.status_code == 200
        return i

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(patch, range(8))) == list(range(8))
    got = client.get("/v1/customers/c1", headers=h).json()
    assert got["attributes"] == {"segment": "trade", **{f"k{i}": i for i in range(1, 8)}}
    assert got["account_manager"] == "am-9"


def test_records_under_an_alias_land_on_the_merged_customer(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    """After a merge, a configuration saved (or a fact answered, a case opened) under the old id
    is the merged customer's, and every lookup by the old id answers the merged customer."""
    from tests.api.test_configurator import COMPLETE

    h = auth()
    for cid in ("web-1", "shop-1"):
        client.put(f"/v1/customers/{cid}", json={}, headers=h)
    spec = {"product_id": "original-spin", "selections": COMPLETE}
    assert (
        client.post("/v1/customers/web-1/configurations", json=spec, headers=h).status_code == 201
    )
    client.post("/v1/customers/shop-1/merge", json={"from": ["web-1"]}, headers=h)
    r = client.post("/v1/customers/web-1/configurations", json=spec, headers=h)
    assert r.status_code == 201
    assert len(store.list_configurations("shop", "shop-1")) == 2
    assert store.list_configurations("shop", "web-1") == []
    by_alias = client.get("/v1/customers/web-1/configurations", headers=h).json()
    assert len(by_alias["configurations"]) == 2
    assert {e.customer_id for e in store.customer_events("shop", "shop-1")} == {"shop-1"}
    history = client.get("/v1/customers/web-1/insights/history", headers=h)
    assert history.status_code == 200 and history.json()["runs"] == []  # no run yet; known
    assert client.get("/v1/customers/nobody/insights/history", headers=h).status_code == 404
    case = {"kind": "complaint", "category": "fit", "severity": 3}
    assert client.post("/v1/customers/web-1/cases", json=case, headers=h).status_code == 201
    assert len(store.list_cases("shop", "shop-1")) == 1
