"""Tier perks and entitlements over HTTP on both backends: a validated, versioned policy per
tenant; perks granted by the ladder; each withheld perk with a reachable requirement that,
followed, earns it; and the configurator applying a discount and a priority lead time."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from store.base import Store
from tests.api.conftest import KeyMaker
from tests.api.test_insights import AS_OF, shop  # noqa: F401  (the fixture)

DAY = 86400.0
POLICY = {
    "tiers": {
        "MVC": {
            "perks": [
                {"perk_id": "ten-off", "title": "10% off", "kind": "discount", "value": 0.1},
                {"perk_id": "fast", "title": "Priority making", "kind": "priority_lead_time",
                 "value": 2},
                {"perk_id": "am", "title": "Your own account manager", "kind": "account_manager"},
            ]
        },
        "MGC": {"perks": [{"perk_id": "ship", "title": "Free delivery", "kind": "delivery"}]},
        "standard": {"perks": [{"perk_id": "news", "title": "Early access", "kind": "other"}]},
    }
}  # fmt: skip


def test_policy_is_versioned_per_tenant_and_admin_only(client: TestClient, auth: KeyMaker) -> None:
    admin = auth("shop", "admin")
    assert client.get("/v1/tiers/policy", headers=admin).json() == {"version": 0, "tiers": {}}
    r = client.put("/v1/tiers/policy", headers=admin, json=POLICY)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert r.json()["tiers"]["MVC"]["perks"][0]["value"] == 0.1
    assert client.get("/v1/tiers/policy", headers=admin).json()["version"] == 1
    assert client.get("/v1/tiers/policy", headers=auth("other", "admin")).json()["version"] == 0
    reader = auth("shop", "customers")
    assert client.get("/v1/tiers/policy", headers=reader).status_code == 403
    assert client.put("/v1/tiers/policy", headers=reader, json=POLICY).status_code == 403


def _perk(**kw: object) -> dict[str, object]:
    return {"tiers": {"MVC": {"perks": [{"perk_id": "p", "title": "P", "kind": "other", **kw}]}}}


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (_perk(kind="cashback"), ["body", "tiers", "MVC", "perks", 0, "kind"]),
        (_perk(kind="discount", value=1.5), ["body", "tiers", "MVC", "perks", 0, "value"]),
        (_perk(kind="discount"), ["body", "tiers", "MVC", "perks", 0, "value"]),
        (_perk(kind="priority_lead_time", value=0), ["body", "tiers", "MVC", "perks", 0, "value"]),
        (_perk(value=-1), ["body", "tiers", "MVC", "perks", 0, "value"]),
        (_perk(colour="red"), ["body", "tiers", "MVC", "perks", 0, "colour"]),
        ({"tiers": {"VIP": {"perks": []}}}, ["body", "tiers", "VIP", "[key]"]),
        (
            {"tiers": {"MVC": _perk()["tiers"]["MVC"], "BZ": _perk()["tiers"]["MVC"]}},  # type: ignore[index]
            ["body", "tiers"],
        ),
    ],
)
def test_bad_policies_name_the_field(
    client: TestClient, auth: KeyMaker, body: dict[str, object], loc: list[object]
) -> None:
    admin = auth("shop", "admin")
    r = client.put("/v1/tiers/policy", headers=admin, json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert loc in [e["loc"] for e in r.json()["errors"]], r.json()["errors"]
    assert client.get("/v1/tiers/policy", headers=admin).json()["version"] == 0


def _entitlements(client: TestClient, h: dict[str, str], cid: str) -> dict:
    r = client.get(f"/v1/customers/{cid}/entitlements", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_entitlements_follow_the_ladder_and_the_requirement_earns_the_perk(
    client: TestClient,
    auth: KeyMaker,
    shop: Store,  # noqa: F811
) -> None:
    h = auth("shop")
    assert client.get("/v1/customers/nobody/entitlements", headers=h).status_code == 404
    assert _entitlements(client, h, "c00")["granted"] == []  # no policy yet: no perks
    client.put("/v1/tiers/policy", headers=h, json=POLICY)
    rows = dict(shop.iter_insights_rows("shop"))
    expected = {
        "MVC": {"ten-off", "fast", "am", "ship", "news"},
        "MGC": {"ship", "news"},
        "standard": {"news"},
        "BZ": set(),
    }
    followable = []
    for cid, row in rows.items():
        body = _entitlements(client, h, cid)
        assert body["tier"] == row["tier"] and body["policy_version"] == 1
        assert {p["perk_id"] for p in body["granted"]} == expected[row["tier"]]
        withheld = {p["perk_id"]: p["requirement"] for p in body["withheld"]}
        assert set(withheld) == {"ten-off", "fast", "am", "ship", "news"} - expected[row["tier"]]
        for perk_id, req in withheld.items():
            assert req["tier"] == ("standard" if perk_id == "news" else "MVC")
            assert "0.00" not in req["requirement"] and (req["spend"] is None or req["spend"] > 0)
            if req["reachable"]:
                assert req["route"] in ("purchases", "spend") and req["within_days"] <= 365
        effects = body["effects"]
        assert effects["discount"] == (0.1 if row["tier"] == "MVC" else 0.0)
        req = withheld.get("ten-off")
        if req and req["reachable"] and req["route"] == "purchases" and req["within_days"] == 90:
            followable.append((cid, req))
    assert followable, "some customer can reach MVC with a few purchases within 90 days"

    cid, req = followable[0]
    events = [
        {"event_id": f"earn-{k}", "customer_id": cid, "type": "purchase", "item_id": "i0",
         "value": round(req["purchase_value"] + 0.01, 2), "timestamp": AS_OF + (k + 1) * DAY}
        for k in range(req["purchases"])
    ]  # fmt: skip
    assert client.post("/v1/events", json={"events": events}, headers=h).status_code == 202
    after = _entitlements(client, h, cid)
    assert after["tier"] == "MVC" and "ten-off" in {p["perk_id"] for p in after["granted"]}
    assert after["effects"]["discount"] == 0.1 and after["effects"]["lead_time_days_saved"] == 2

    # The configurator applies the perks of a customer-scoped configure, and only those.
    configure = "/v1/configurator/products/original-spin/configure"
    plain = client.post(configure, json={}, headers=h).json()
    assert "perks" not in plain or plain["perks"] is None
    mine = client.post(configure, json={"customer_id": cid}, headers=h).json()
    assert {p["perk_id"] for p in mine["perks"]} == {"ten-off", "fast"}
    s_plain, s_mine = plain["suggested"], mine["suggested"]
    assert s_mine["list_price"] == pytest.approx(s_mine["price"] / 0.9, abs=0.01)
    assert s_mine["list_lead_time_days"] - s_mine["lead_time_days"] == min(
        2, s_mine["list_lead_time_days"] - 1
    )
    bz_or_standard = next(c for c, r in rows.items() if r["tier"] in ("standard", "BZ"))
    theirs = client.post(configure, json={"customer_id": bz_or_standard}, headers=h).json()
    assert theirs["perks"] == [] and "list_price" not in (theirs["suggested"] or {})
    assert s_plain is not None


def test_a_first_purchase_is_the_requirement_of_a_customer_without_one(
    client: TestClient,
    auth: KeyMaker,
    shop: Store,  # noqa: F811
) -> None:
    h = auth("shop")
    client.put("/v1/tiers/policy", headers=h, json=POLICY)
    body = _entitlements(client, h, "newbie")
    assert body["tier"] == "standard" and {p["perk_id"] for p in body["granted"]} == {"news"}
    req = next(p for p in body["withheld"] if p["perk_id"] == "ten-off")["requirement"]
    assert req["route"] == "first_purchase" and req["requirement"].startswith("a first purchase")
