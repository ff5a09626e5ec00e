"""Audiences over HTTP: filters, consent per channel, paging; each action names a channel."""

from __future__ import annotations

from fastapi.testclient import TestClient

from core.records import Customer, Event, Item
from store.base import Store
from tests.api.conftest import KeyMaker
from tests.api.test_insights import N, shop  # noqa: F401  (the fixture)

MANAGED = {f"c{i:02d}" for i in range(6)}


def _all(client: TestClient, h: dict[str, str], query: str, limit: int) -> list[dict]:
    out, cursor = [], None
    for _ in range(100):
        q = f"/v1/insights/customers?limit={limit}{query}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(q, headers=h).json()
        out += body["customers"]
        cursor = body["next_cursor"]
        if cursor is None:
            return out
    raise AssertionError("paging never ended")


def test_pages_cover_everyone_once(client: TestClient, auth: KeyMaker, shop: Store) -> None:  # noqa: F811
    h = auth("shop", "customers")
    ids = [c["customer_id"] for c in _all(client, h, "", 7)]
    assert len(ids) == N and ids == sorted(set(ids))
    mvc = _all(client, h, "&tier=MVC", 5)
    assert mvc and all(c["tier"] == "MVC" for c in mvc)
    for c in _all(client, h, "&tier=BZ", 50):
        assert c["next_best_action"]["channel"] == "self_service"
    bad = client.get("/v1/insights/customers?cursor=%%%", headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "cursor"]
    bad = client.get("/v1/insights/customers?channel=pigeon", headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "channel"]


def test_only_consenting_customers(client: TestClient, auth: KeyMaker, shop: Store) -> None:  # noqa: F811
    h = auth("shop", "customers")
    assert _all(client, h, "&channel=account_manager", 3) == []  # managed, but no consent
    for cid in MANAGED:
        client.patch(f"/v1/customers/{cid}", json={"consent": {"channels": {"phone": True}}},
                     headers=h)  # fmt: skip
    managed = _all(client, h, "&channel=account_manager", 3)
    assert {c["customer_id"] for c in managed} == MANAGED  # newbie has no purchase, no row
    assert all(c["next_best_action"]["channel"] == "account_manager" for c in managed)
    assert _all(client, h, "&channel=email", 10) == []  # nobody consented to email
    shop.put_customer("shop", Customer("c07", consent_channels={"email": True}))
    assert [c["customer_id"] for c in _all(client, h, "&channel=email", 10)] == ["c07"]
    row = client.get("/v1/customers/c07/insights", headers=h).json()
    assert row["next_best_action"]["channel"] in ("email", "self_service")
    assert row["next_best_action"]["channel"] == (
        "self_service" if row["tier"] == "BZ" else "email"
    )


def test_a_channel_without_consent_is_never_proposed(
    client: TestClient,
    auth: KeyMaker,
    shop: Store,  # noqa: F811
) -> None:
    """Withdrawn consent takes effect at once: the insights row, the audience and the
    manager's worklist stop proposing the channel (a manager needs phone or email to call)."""
    h = auth("shop", "customers")
    cid = _all(client, h, "&tier=MVC", 5)[0]["customer_id"]
    may_call = {"account_manager": "am-1", "consent": {"channels": {"phone": True}}}
    assert client.patch(f"/v1/customers/{cid}", json=may_call, headers=h).status_code == 200
    row = client.get(f"/v1/customers/{cid}/insights", headers=h).json()
    assert row["next_best_action"]["channel"] == "account_manager"  # MVC with a manager
    no = {"consent": {"channels": {"phone": False, "email": False}}}
    assert client.patch(f"/v1/customers/{cid}", json=no, headers=h).status_code == 200
    row = client.get(f"/v1/customers/{cid}/insights", headers=h).json()
    assert row["next_best_action"]["channel"] == "self_service"
    for channel in ("account_manager", "phone", "email"):
        audience = _all(client, h, f"&channel={channel}", 10)
        assert cid not in {c["customer_id"] for c in audience}, channel
    worklist = client.get("/v1/account-managers/am-1/customers?limit=100", headers=h).json()
    (entry,) = [c for c in worklist["customers"] if c["customer_id"] == cid]
    assert entry["next_best_action"]["channel"] == "self_service"
    email = {"consent": {"channels": {"email": True}}}
    client.patch(f"/v1/customers/{cid}", json=email, headers=h)
    worklist = client.get("/v1/account-managers/am-1/customers?limit=100", headers=h).json()
    (entry,) = [c for c in worklist["customers"] if c["customer_id"] == cid]
    assert entry["next_best_action"]["channel"] == "account_manager"  # the manager may write


def test_offers_name_items_from_the_recommender(
    client: TestClient,
    auth: KeyMaker,
    shop: Store,  # noqa: F811
) -> None:
    """No model is trained: the recommender answers with the store's popular items the
    customer does not own, which the cross-sell and upgrade actions then offer."""
    h = auth("shop", "customers")
    shop.upsert_items("shop", [Item(i) for i in ("i0", "i1", "i2", "i9")])
    shop.add_events("shop", [Event("cart-9", "zz", "add_to_cart", 1.7e9, item_id="i9")])
    offers = [
        c
        for c in _all(client, h, "", 50)
        if c["next_best_action"]["action"] in ("cross_sell", "upgrade")
    ]
    assert offers
    popular = {"i0", "i1", "i2", "i9"}  # the catalog
    for c in offers:
        items = c["next_best_action"]["items"]
        assert items and set(items) <= popular, c
    for c in _all(client, h, "&action=retain", 50) + _all(client, h, "&action=self_service", 50):
        assert c["next_best_action"].get("items") is None
