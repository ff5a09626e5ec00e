"""The account manager's day over HTTP on both backends: portfolios with value at stake, overdue
contacts and the cap warning; the paged worklist with the next contact due and the questions."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.main import create_app
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker


def test_portfolios_worklist_and_cap(client: TestClient, auth: KeyMaker, store: Store) -> None:
    h = auth()
    for i in range(5):
        client.put(f"/v1/customers/c{i}", json={"account_manager": "am-1"}, headers=h)
    client.put("/v1/customers/solo", json={"account_manager": "am-2"}, headers=h)
    store.put_insights_rows(
        "shop",
        {
            "c1": {
                "tier": "MVC",
                "next_best_action": {"reason": "r", "action": "retain", "priority": 50.0},
            },
            "c3": {
                "tier": "MGC",
                "next_best_action": {"reason": "r", "action": "cross_sell", "priority": 80.0},
            },
        },
    )
    past, future = "2020-01-01T00:00:00Z", "2099-01-01T00:00:00Z"
    contact = {"channel": "phone", "direction": "outbound", "outcome": "reached"}
    client.post("/v1/customers/c1/contacts", json={**contact, "next_contact_at": past}, headers=h)
    client.post("/v1/customers/c2/contacts", json={**contact, "next_contact_at": future}, headers=h)
    complaint = {"kind": "complaint", "category": "delivery", "severity": 3}
    client.post("/v1/customers/c3/cases", json=complaint, headers=h)
    q = {"text": "Size?", "kind": "choice", "options": ["S", "M"], "attribute": "size"}
    client.put("/v1/questions/size", json=q, headers=h)

    body = client.get("/v1/account-managers", headers=h).json()
    assert body["portfolio_cap"] == 1500
    am1 = next(m for m in body["managers"] if m["manager_id"] == "am-1")
    assert am1["portfolio_size"] == 5 and am1["value_at_stake"] == 130.0
    assert am1["contacts_overdue"] == 1 and am1["open_complaints"] == 1
    assert am1["warning"] is None

    assert (
        client.put(
            "/v1/account-managers/settings", json={"portfolio_cap": 4}, headers=h
        ).status_code
        == 200
    )
    bad = client.put("/v1/account-managers/settings", json={"portfolio_cap": 0}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "portfolio_cap"]
    managers = client.get("/v1/account-managers", headers=h).json()["managers"]
    assert "cap of 4" in next(m for m in managers if m["manager_id"] == "am-1")["warning"]
    assert next(m for m in managers if m["manager_id"] == "am-2")["warning"] is None

    first = client.get("/v1/account-managers/am-1/customers?limit=2", headers=h).json()
    assert [c["customer_id"] for c in first["customers"]] == ["c3", "c1"]  # money at stake first
    c3, c1 = first["customers"]
    assert c3["open_complaints"] == 1 and [q["question_id"] for q in c3["questions"]] == ["size"]
    assert c1["overdue"] is True and c1["next_contact_due"] == "2020-01-01T00:00:00Z"
    rest = client.get(
        f"/v1/account-managers/am-1/customers?limit=2&cursor={first['next_cursor']}", headers=h
    ).json()
    last = client.get(
        f"/v1/account-managers/am-1/customers?limit=2&cursor={rest['next_cursor']}", headers=h
    ).json()
    ids = [c["customer_id"] for c in first["customers"] + rest["customers"] + last["customers"]]
    assert sorted(ids) == ["c0", "c1", "c2", "c3", "c4"] and last["next_cursor"] is None
    c2 = next(c for c in rest["customers"] + last["customers"] if c["customer_id"] == "c2")
    assert c2["overdue"] is False
    assert (
        client.get("/v1/account-managers/am-1/customers?questions=0", headers=h).json()[
            "customers"
        ][0]["questions"]
        == []
    )


def test_worklist_filters(client: TestClient, auth: KeyMaker, store: Store) -> None:
    """Filters narrow the worklist on the server, before paging, and keep its order."""
    h = auth()
    for i in range(6):
        client.put(f"/v1/customers/f{i}", json={"account_manager": "am-f"}, headers=h)
    rows = {
        "f0": ("MVC", "decline", "retain", "n1", 10.0),
        "f1": ("MGC", "stable", "cross_sell", "n1", 30.0),
        "f2": ("MVC", "formation", "cross_sell", "n2", 20.0),
        "f3": ("MVC", "stable", "cross_sell", "n1", 40.0),
        "f4": ("BZ", "exploration", "self_service", "n2", 5.0),
    }
    store.put_insights_rows(
        "shop",
        {
            cid: {
                "tier": tier,
                "lifecycle_stage": stage,
                "needs_segment": needs,
                "next_best_action": {"reason": "r", "action": action, "priority": money},
            }
            for cid, (tier, stage, action, needs, money) in rows.items()
        },
    )

    def ids(query: str) -> list[str]:
        answer = client.get(f"/v1/account-managers/am-f/customers?{query}", headers=h)
        assert answer.status_code == 200, answer.text
        return [c["customer_id"] for c in answer.json()["customers"]]

    assert ids("questions=0") == ["f3", "f1", "f2", "f0", "f4", "f5"]
    assert ids("tier=MVC") == ["f3", "f2", "f0"]
    assert ids("tier=MVC&action=cross_sell") == ["f3", "f2"]
    assert ids("lifecycle_stage=exploration") == ["f4"]
    assert ids("needs_segment=n1&tier=MVC") == ["f3", "f0"]
    first = client.get("/v1/account-managers/am-f/customers?tier=MVC&limit=2", headers=h).json()
    assert [c["customer_id"] for c in first["customers"]] == ["f3", "f2"]
    rest = client.get(
        f"/v1/account-managers/am-f/customers?tier=MVC&limit=2&cursor={first['next_cursor']}",
        headers=h,
    ).json()
    assert [c["customer_id"] for c in rest["customers"]] == ["f0"] and rest["next_cursor"] is None
    bad = client.get("/v1/account-managers/am-f/customers?tier=gold", headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "tier"]


def test_a_logged_contact_moves_the_customer_behind_those_still_waiting(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    h = auth()
    for cid in ("w1", "w2", "w3"):
        client.put(f"/v1/customers/{cid}", json={"account_manager": "am-w"}, headers=h)
    store.put_insights_rows(
        "shop",
        {
            cid: {
                "tier": "MVC",
                "next_best_action": {"reason": "r", "action": "retain", "priority": money},
            }
            for cid, money in (("w1", 300.0), ("w2", 200.0), ("w3", 100.0))
        },
    )

    def order() -> list[str]:
        page = client.get("/v1/account-managers/am-w/customers?questions=0", headers=h).json()
        return [c["customer_id"] for c in page["customers"]]

    assert order() == ["w1", "w2", "w3"]
    call = {"channel": "phone", "direction": "outbound"}
    client.post("/v1/customers/w1/contacts", json={**call, "outcome": "no_answer"}, headers=h)
    assert order() == ["w1", "w2", "w3"]  # not reached: still to do
    client.post("/v1/customers/w1/contacts", json={**call, "outcome": "reached"}, headers=h)
    assert order() == ["w2", "w3", "w1"]
    later = {**call, "outcome": "follow_up", "next_contact_at": "2099-01-01T00:00:00Z"}
    client.post("/v1/customers/w2/contacts", json=later, headers=h)
    assert order() == ["w3", "w1", "w2"]  # both settled, in the insights order
    complaint = {"kind": "complaint", "category": "delivery", "severity": 4}
    client.post("/v1/customers/w1/cases", json=complaint, headers=h)
    assert order() == ["w1", "w3", "w2"]  # an open complaint is never settled


def test_service_report(client: TestClient, auth: KeyMaker, store: Store) -> None:
    h = auth()
    for cid in ("a", "b"):
        client.put(f"/v1/customers/{cid}", json={}, headers=h)
    store.put_insights_rows("shop", {"a": {"tier": "MVC"}})
    case = {
        "kind": "complaint",
        "category": "fit",
        "severity": 2,
        "opened_at": "2026-03-01T10:00:00Z",
    }
    client.post("/v1/customers/a/cases", json={**case, "case_id": "s1"}, headers=h)
    client.post("/v1/customers/b/cases", json={**case, "case_id": "s2"}, headers=h)
    client.patch(
        "/v1/customers/a/cases/s1",
        json={
            "status": "resolved",
            "contacts_to_resolve": 1,
            "resolved_at": "2026-03-01T12:00:00Z",
        },
        headers=h,
    )
    body = client.get("/v1/insights/service", headers=h).json()
    assert body["overall"]["cases"] == 2 and body["overall"]["resolved"] == 1
    assert body["by_tier"]["MVC"]["first_contact_resolution_rate"] == 1.0
    assert body["by_tier"]["MVC"]["median_hours_to_resolve"] == 2.0
    assert body["by_tier"]["standard"]["open"] == 1
    assert body["per_day"] == [
        {"date": "2026-03-01", "category": "fit", "opened": 2, "resolved": 1}
    ]
    assert client.get("/v1/insights/service?since=nope", headers=h).status_code == 422


def test_worklist_recovers_complaints_orders_by_wallet_gap_and_asks_consent(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    """Obvious answers: an open complaint puts its customer first with ``recover`` (priority:
    CLV if active, 100 / 0.5 = 200); ``order=wallet_gap`` is the money left in the wallets; each
    action goes through a channel the customer consents to (an MVC without consent: self-service)."""
    h = auth()
    client.put("/v1/customers/c0", json={"account_manager": "am-1",
               "consent": {"channels": {"email": True}}}, headers=h)  # fmt: skip
    for cid in ("c1", "c2"):
        client.put(f"/v1/customers/{cid}", json={"account_manager": "am-1"}, headers=h)
    nba = {"action": "cross_sell", "reason": "grow", "priority": 10.0}
    store.put_insights_rows(
        "shop",
        {
            "c0": {"customer_id": "c0", "tier": "MGC", "clv": 100.0, "p_alive": 0.5,
                   "wallet_gap": 500.0, "next_best_action": nba},
            "c1": {"customer_id": "c1", "tier": "MVC", "clv": 1000.0, "p_alive": 1.0,
                   "wallet_gap": 50.0,
                   "next_best_action": {"action": "upgrade", "reason": "up", "priority": 100.0}},
            "c2": {"customer_id": "c2", "tier": "standard", "clv": 10.0, "p_alive": 1.0,
                   "wallet_gap": 900.0, "next_best_action": {**nba, "priority": 5.0}},
        },
    )  # fmt: skip

    def order(query: str = "") -> list[str]:
        r = client.get(f"/v1/account-managers/am-1/customers?questions=0{query}", headers=h)
        assert r.status_code == 200, r.text
        return [c["customer_id"] for c in r.json()["customers"]]

    assert order() == ["c1", "c0", "c2"]
    assert order("&order=wallet_gap") == ["c2", "c0", "c1"]
    bad = client.get("/v1/account-managers/am-1/customers?order=gap", headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "order"]

    complaint = {"case_id": "k1", "kind": "complaint", "category": "fit", "severity": 4}
    assert client.post("/v1/customers/c0/cases", json=complaint, headers=h).status_code == 201
    assert order() == ["c0", "c1", "c2"]
    body = client.get("/v1/account-managers/am-1/customers?questions=0", headers=h).json()
    first, mvc = body["customers"][0], body["customers"][1]
    assert first["next_best_action"]["action"] == "recover"
    assert first["next_best_action"]["priority"] == 200.0 and first["priority"] == 200.0
    assert first["next_best_action"]["cases"] == ["k1"] and first["wallet_gap"] == 500.0
    assert first["next_best_action"]["channel"] == "email"
    assert mvc["next_best_action"]["channel"] == "self_service"  # a manager, but no consent
    client.patch("/v1/customers/c1", json={"consent": {"channels": {"phone": True}}}, headers=h)
    body = client.get("/v1/account-managers/am-1/customers?questions=0", headers=h).json()
    assert body["customers"][1]["next_best_action"]["channel"] == "account_manager"

    resolved = {"status": "resolved"}
    assert client.patch("/v1/customers/c0/cases/k1", json=resolved, headers=h).status_code == 200
    assert order() == ["c1", "c0", "c2"]


def test_every_worker_shows_each_write_in_its_next_page(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    """A second worker keeps the ordered portfolio between pages, yet a contact, a complaint, a
    re-score, a customer joining or leaving, a merge and an erasure made through the first one
    show in the second one's very next page."""
    h = auth()
    for cid in ("p1", "p2", "p3"):
        client.put(f"/v1/customers/{cid}", json={"account_manager": "am-p"}, headers=h)

    def scored(money: dict[str, float]) -> None:
        action = {"reason": "r", "action": "retain"}
        rows = {
            c: {"tier": "MVC", "next_best_action": {**action, "priority": m}}
            for c, m in money.items()
        }
        store.put_insights_rows("shop", rows)

    scored({"p1": 300.0, "p2": 200.0, "p3": 100.0})
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as other:

        def order() -> list[str]:
            page = other.get("/v1/account-managers/am-p/customers?questions=0", headers=h)
            assert page.status_code == 200, page.text
            return [c["customer_id"] for c in page.json()["customers"]]

        assert order() == order() == ["p1", "p2", "p3"]
        call = {"channel": "phone", "direction": "outbound", "outcome": "reached"}
        client.post("/v1/customers/p1/contacts", json=call, headers=h)
        assert order() == ["p2", "p3", "p1"]
        complaint = {"kind": "complaint", "category": "delivery", "severity": 4}
        client.post("/v1/customers/p1/cases", json=complaint, headers=h)
        assert order() == ["p1", "p2", "p3"]
        scored({"p3": 900.0})  # a re-score after a purchase
        assert order() == ["p3", "p1", "p2"]
        client.put("/v1/customers/p4", json={"account_manager": "am-p"}, headers=h)
        assert order() == ["p3", "p1", "p2", "p4"]  # no insights yet: last
        patch = {"Content-Type": "application/merge-patch+json"}
        client.patch(
            "/v1/customers/p2", content='{"account_manager": "am-q"}', headers={**h, **patch}
        )
        assert order() == ["p3", "p1", "p4"]
        assert (
            client.post("/v1/customers/p1/merge", json={"from": ["p4"]}, headers=h).status_code
            == 200
        )
        assert order() == ["p3", "p1"]
        assert client.delete("/v1/customers/p3", headers=h).status_code == 204
        assert order() == ["p1"]
