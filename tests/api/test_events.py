"""POST /v1/events: validation, partial acceptance, idempotency, limits."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from events.files import FileMapping, ReadOptions, read_events
from settings import Settings
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
    # Model-level checks name their field too, never an empty loc.
    assert [rejected[k][0]["loc"] for k in (2, 3, 4, 6, 7)] == [
        ["quantity"],
        ["timestamp"],
        ["item_id"],
        ["value"],
        ["quantity"],
    ]
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


#: Rows as text cells of a file (an empty cell is an absent field); a client posts the same rows
#: with numbers as JSON numbers (``as_posted``), since types are strict over HTTP.
FILE_ROWS = [
    {"event_id": "f1", "customer_id": "c1", "item_id": "i1", "type": "view"},
    {"event_id": "f2", "customer_id": "c1", "type": "purchase"},  # no item
    {"event_id": "f3", "customer_id": "c1", "item_id": "i1", "type": "purchase", "quantity": "0"},
    {"event_id": "f4", "customer_id": "c1", "item_id": "i1", "type": "return", "quantity": "-2"},
    {"event_id": "f5", "customer_id": "c1", "item_id": "i1", "type": "purchase", "quantity": "-2"},
    {"event_id": "f6", "customer_id": "c1", "item_id": "i1", "type": "rating", "value": "11"},
    {"event_id": "f7", "customer_id": "c1", "item_id": "i1", "type": "rating"},
    {"event_id": "f8", "customer_id": "c1", "item_id": "i1", "type": "teleport"},
    {"event_id": "f9", "customer_id": "c1", "item_id": "i1", "type": "view", "timestamp": "2999-01-01T00:00:00Z"},
    {"event_id": "f10", "customer_id": "c1", "item_id": "i1", "type": "view", "timestamp": "1980-01-01"},
    {"event_id": "f11", "customer_id": "x" * 129, "item_id": "i1", "type": "view"},
    {"event_id": "f12", "customer_id": "c1", "item_id": "i1", "type": "purchase", "value": "-5"},
    {"event_id": "f13", "customer_id": "c1", "item_id": "i1", "type": "view", "timestamp": "soon"},
    {"event_id": "f14", "customer_id": "c1", "item_id": "i1", "type": "purchase", "quantity": "lots"},
    {"event_id": "f15", "customer_id": "c1", "type": "configure"},
    {"event_id": "f16", "customer_id": "c1", "item_id": "i2", "type": "purchase", "quantity": "3",
     "value": "29.7", "timestamp": "2024-05-01T10:00:00+02:00"},
    {"event_id": "f17", "customer_id": "c1", "item_id": "i1", "type": "rating", "value": "4.5",
     "timestamp": "2024-05-01 10:00:00"},
    {"event_id": "f18", "customer_id": "c1", "item_id": "i1", "type": "view", "quantity": "inf"},
]  # fmt: skip
FIELDS = ["event_id", "customer_id", "item_id", "type", "quantity", "value", "timestamp"]


def as_posted(row: dict[str, str]) -> dict[str, object]:
    """The row as a client posts it: finite numeric cells as JSON numbers, the rest as text."""
    out: dict[str, object] = dict(row)
    for name in ("quantity", "value"):
        try:
            number = float(row[name])
        except (KeyError, ValueError):
            continue
        if math.isfinite(number):
            out[name] = number
    return out


def test_an_event_file_is_accepted_and_rejected_like_the_api(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings, tmp_path: Path
) -> None:
    """The importer's reader takes exactly the events ``POST /v1/events`` takes, as stored."""
    rows = [as_posted(row) for row in FILE_ROWS]
    r = client.post("/v1/events", json={"events": rows}, headers=auth("posted"))
    assert r.status_code == 202
    posted = {e.event_id: e for e in store.customer_events("posted", "c1")}
    path = tmp_path / "events.csv"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(FILE_ROWS)
    mapping = FileMapping.parse(",".join(f"{f}={f}" for f in FIELDS))
    options = ReadOptions(max_future_s=settings.max_future_skew_s)
    read = {e.event_id: e for b in read_events(path, mapping, options) for e in b.events}
    assert sorted(read) == sorted(posted) == ["f1", "f15", "f16", "f17", "f4"]
    assert r.json()["accepted"] == len(read)
    for event_id, e in read.items():
        p = posted[event_id]
        assert (e.item_id, e.type, e.quantity, e.value) == (p.item_id, p.type, p.quantity, p.value)
        if event_id in ("f16", "f17"):  # the others happened "now", at slightly different times
            assert e.timestamp == p.timestamp
