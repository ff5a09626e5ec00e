"""POST /v1/events: validation, partial acceptance, idempotency, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from store.base import Store
from tests.api.conftest import KeyMaker


def event(i: int, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": f"e{i}",
        "customer_id": "c1",
        "item_id": "i1",
        "type": "view",
    }
    base.update(kw)
    return base


def test_accepts_stores_and_counts_duplicates(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    h = auth()
    body = {
        "events": [
            event(1),
            event(
                2, type="purchase", quantity=2, value=10.0, timestamp="2024-05-01T10:00:00+02:00"
            ),
        ]
    }
    r = client.post("/v1/events", json=body, headers=h)
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    r = client.post("/v1/events", json=body, headers=h)
    assert r.json() == {"accepted": 0, "duplicates": 2, "rejected": []}
    stored = {e.event_id: e for e in store.customer_events("shop", "c1")}
    assert stored["e2"].timestamp == datetime(2024, 5, 1, 8, tzinfo=UTC).timestamp()
    assert stored["e2"].quantity == 2 and stored["e2"].value == 10.0
    # a missing timestamp means now
    assert abs(stored["e1"].timestamp - datetime.now(UTC).timestamp()) < 60
    hist = store.customer_items("shop", "c1")
    assert hist.item_ids == ["i1"] and hist.purchased == [True]


def test_partial_acceptance_names_each_offending_field(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    events = [
        event(1),
        event(2, type="teleport"),  # unknown type
        event(3, type="purchase", quantity=-1),  # negative purchase
        event(4, timestamp=future),  # far future
        event(5, item_id=None),  # view without item
        event(6, customer_id="x" * 129),  # too long
        event(7, type="rating"),  # rating without value
        event(8, type="purchase", quantity=0),  # zero quantity
        "not an object",
        event(10, type="return", quantity=-2, value=5),  # retail convention: accepted
        event(11, price=3),  # unknown field
        event(12, value=float("inf")),
    ]
    r = client.post("/v1/events", json={"events": events[:11]}, headers=auth())
    assert r.status_code == 202
    body = r.json()
    assert body["accepted"] == 2
    rejected = {x["index"]: x["errors"] for x in body["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 4, 5, 6, 7, 8, 10]
    assert rejected[1][0]["loc"] == ["type"]
    assert rejected[5][0]["loc"] == ["customer_id"]
    assert rejected[10][0]["loc"] == ["price"]
    assert "positive" in rejected[2][0]["msg"]
    assert "future" in rejected[3][0]["msg"]
    assert [e.event_id for e in store.customer_events("shop", "c1")] == ["e1", "e10"]
    assert store.customer_events("shop", "c1")[1].quantity == 2.0


def test_invalid_json_and_shape_are_422_problems(client: TestClient, auth: KeyMaker) -> None:
    h = {**auth(), "Content-Type": "application/json"}
    r = client.post("/v1/events", content=b"{not json", headers=h)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.post("/v1/events", json={"evnts": []}, headers=h)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "events"]


def test_batch_and_body_limits_are_413(
    client: TestClient, auth: KeyMaker, settings: object
) -> None:
    h = auth()
    r = client.post("/v1/events", json={"events": [event(i) for i in range(10_001)]}, headers=h)
    assert r.status_code == 413
    assert r.json()["errors"][0]["loc"] == ["body", "events"]
    big = b'{"events": [' + b" " * (17 * 1024 * 1024) + b"]}"
    r = client.post("/v1/events", content=big, headers={**h, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


def test_nothing_is_written_for_a_fully_rejected_batch(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    r = client.post("/v1/events", json={"events": [event(1, type="nope")]}, headers=auth())
    assert r.status_code == 202 and r.json()["accepted"] == 0
    assert store.count_events("shop") == 0
