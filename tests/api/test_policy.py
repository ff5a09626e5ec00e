"""The tenant policy over HTTP: what "already has it" means, reasons named by interaction, and
no policy read on the hit path (both backends)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker
from tests.api.test_recommendations import publish, rec, seed


@pytest.fixture
def client(store: Store, settings: Settings) -> Any:
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def shop(client: TestClient, auth: KeyMaker, store: Store, settings: Settings) -> dict[str, str]:
    h = auth("shop")
    seed(client, h)
    publish(store, settings, "shop")
    # one customer who did a bit of everything with a-items
    events = [
        ("x1", "a0", "purchase", None),
        ("x2", "a1", "view", None),
        ("x3", "a2", "rating", 5.0),
        ("x4", "a3", "dislike", None),
        ("x5", "a4", "return", None),
        ("x6", "a5", "add_to_cart", None),
    ]
    body = {
        "events": [
            {"event_id": e, "customer_id": "x", "item_id": i, "type": t, "value": v}
            for e, i, t, v in events
        ]
    }
    assert client.post("/v1/events", json=body, headers=h).status_code == 202
    return h


def ids(body: dict[str, Any]) -> set[str]:
    return {i["item_id"] for i in body["items"]}


def test_default_policy_excludes_purchased_rated_disliked_returned(
    client: TestClient, shop: dict[str, str]
) -> None:
    got = client.get("/v1/policy", headers=shop).json()
    assert got == {
        "exclude_interacted": ["purchase", "rating", "dislike", "return"],
        "allow_repurchase": False,
    }
    everything = ids(rec(client, shop, "x", n=100))
    assert not everything & {"a0", "a2", "a3", "a4"}
    assert {"a1", "a5"} <= everything  # viewed and carted items stay candidates
    assert len(everything) == 12 - 4
    # the same rule for a basket, and for a customer without consent
    cross = client.post(
        "/v1/recommendations/cross-sell",
        json={"items": ["b0"], "customer_id": "x", "n": 100},
        headers=shop,
    ).json()
    assert not ids(cross) & {"a0", "a2", "a3", "a4", "b0"} and "a1" in ids(cross)
    client.put("/v1/customers/x", json={"consent": {"personalization": False}}, headers=shop)
    plain = rec(client, shop, "x", n=100)
    assert plain["fallback"] == "no_consent" and not ids(plain) & {"a0", "a2", "a3", "a4"}


def test_a_policy_changes_every_answer_at_once(
    client: TestClient, shop: dict[str, str], store: Store, settings: Settings
) -> None:
    assert ids(rec(client, shop, "x", n=100)) >= {"a1"}
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as other:
        assert "a1" in ids(rec(other, shop, "x", n=100))  # cached in the second worker too
        policy = {"exclude_interacted": ["view", "purchase"], "allow_repurchase": False}
        r = client.put("/v1/policy", json=policy, headers=shop)
        assert r.status_code == 200 and r.json() == policy
        for worker in (client, other):
            got = ids(rec(worker, shop, "x", n=100))
            assert not got & {"a0", "a1"} and {"a2", "a3", "a4"} <= got
        r = client.put("/v1/policy", json={"exclude_interacted": [], "allow_repurchase": True})
        assert r.status_code == 401
        client.put(
            "/v1/policy",
            json={"exclude_interacted": ["purchase"], "allow_repurchase": True},
            headers=shop,
        )
        assert {"a0", "a1"} <= ids(rec(other, shop, "x", n=100))  # repurchase wins


def test_the_hit_path_reads_no_policy(
    client: TestClient, shop: dict[str, str], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    original = store.get_tenant_config

    def counted(tenant: str) -> dict[str, Any]:
        reads.append(tenant)
        return original(tenant)

    monkeypatch.setattr(store, "get_tenant_config", counted)
    first = rec(client, shop, "x", n=5)
    reads.clear()
    for _ in range(20):
        assert rec(client, shop, "x", n=5) == first
    assert reads == []  # cached under the catalog version the serving read returns anyway
    client.put("/v1/policy", json={"exclude_interacted": ["view"]}, headers=shop)
    reads.clear()
    rec(client, shop, "x", n=5)
    rec(client, shop, "x", n=5)
    assert reads == ["shop"]  # read once, when the version moved


def test_bad_policies_name_the_field(client: TestClient, shop: dict[str, str]) -> None:
    for body, loc in (
        ({"exclude_interacted": ["impression"]}, ["body", "exclude_interacted", 0]),
        ({"exclude_interacted": ["view", "bought"]}, ["body", "exclude_interacted", 1]),
        ({"exclude_interacted": "purchase"}, ["body", "exclude_interacted"]),
        ({"allow_repurchase": "yes please"}, ["body", "allow_repurchase"]),
        ({"exclude": ["view"]}, ["body", "exclude"]),
    ):
        r = client.put("/v1/policy", json=body, headers=shop)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["errors"][0]["loc"] == loc
    assert client.get("/v1/policy", headers=shop).json()["exclude_interacted"] == [
        "purchase",
        "rating",
        "dislike",
        "return",
    ]


def test_reasons_name_the_interaction_they_come_from(
    client: TestClient, shop: dict[str, str]
) -> None:
    body = rec(client, shop, "x", n=6, explain="true")
    named: dict[str, set[str]] = {}
    for item in body["items"]:
        for r in item["reasons"]:
            named.setdefault(r["type"], set()).update(r.get("item_ids", []))
    assert "a1" in named.get("because_you_viewed", set())  # a view is explained as a view
    for kind, items in named.items():
        allowed = {
            "because_you_bought": {"a0"},
            "because_you_viewed": {"a1"},
            "because_you_rated": {"a2"},
            "because_you_added_to_cart": {"a5"},
            "profile": set(),
        }[kind]
        assert items <= allowed, (kind, items)


def test_similar_and_cross_sell_explain_only_when_asked(
    client: TestClient, shop: dict[str, str]
) -> None:
    plain = client.get("/v1/items/a0/similar", params={"n": 3}, headers=shop).json()
    assert plain["items"] and all(set(i) == {"item_id", "score"} for i in plain["items"])
    told = client.get("/v1/items/a0/similar", params={"n": 3, "explain": "true"}, headers=shop)
    assert all(i["reasons"][0]["type"] == "similar" for i in told.json()["items"])
    basket = {"items": ["a0"], "n": 3}
    plain = client.post("/v1/recommendations/cross-sell", json=basket, headers=shop).json()
    assert plain["items"] and all(set(i) == {"item_id", "score"} for i in plain["items"])
    told = client.post(
        "/v1/recommendations/cross-sell", json={**basket, "explain": True}, headers=shop
    ).json()
    assert all(i["reasons"][0]["type"] == "bought_together" for i in told["items"])
    bad = client.post(
        "/v1/recommendations/cross-sell", json={**basket, "explain": "maybe"}, headers=shop
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "explain"]
