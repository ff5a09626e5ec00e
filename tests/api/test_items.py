"""/v1/items: create, replace, batch, read, delete, validation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import KeyMaker


def test_put_creates_then_replaces(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    body = {
        "title": "Belt",
        "category": "belts",
        "price": 45.0,
        "available": True,
        "attributes": {"colour": "brown"},
    }
    r = client.put("/v1/items/belt-1", json=body, headers=h)
    assert r.status_code == 201
    assert r.json()["attributes"] == {"colour": "brown"} and r.json()["item_id"] == "belt-1"
    r = client.put("/v1/items/belt-1", json={**body, "price": 40.0}, headers=h)
    assert r.status_code == 200 and r.json()["price"] == 40.0
    assert client.get("/v1/items/belt-1", headers=auth("shop", "recommend")).json()["price"] == 40.0


def test_invalid_items_name_the_field(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    cases = [
        ({"price": -1}, ["body", "price"]),
        ({"price": "cheap"}, ["body", "price"]),
        ({"available": "maybe"}, ["body", "available"]),
        ({"title": "x" * 513}, ["body", "title"]),
        ({"colour": "red"}, ["body", "colour"]),
        ({"attributes": {"k": "v" * 20000}}, ["body", "attributes"]),
    ]
    for body, loc in cases:
        r = client.put("/v1/items/x", json=body, headers=h)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["loc"] == loc
    r = client.put("/v1/items/" + "x" * 129, json={}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["path", "item_id"]
    assert client.get("/v1/items/x", headers=h).status_code == 404  # nothing half-written


def test_batch_reports_errors_by_index(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    items = [
        {"item_id": "a", "price": 1},
        {"item_id": "b", "price": -5},
        {"price": 2},
        {"item_id": "c", "category": "x"},
    ]
    r = client.post("/v1/items/batch", json={"items": items}, headers=h)
    assert r.status_code == 200
    body = r.json()
    assert body["upserted"] == 2
    assert [(e["index"], e["errors"][0]["loc"]) for e in body["errors"]] == [
        (1, ["price"]),
        (2, ["item_id"]),
    ]
    assert client.get("/v1/items/c", headers=h).status_code == 200
    r = client.post("/v1/items/batch", json={"items": [{"item_id": "z"}] * 10_001}, headers=h)
    assert r.status_code == 413


def test_delete(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    client.put("/v1/items/a", json={}, headers=h)
    assert client.delete("/v1/items/a", headers=h).status_code == 204
    assert client.get("/v1/items/a", headers=h).status_code == 404
    assert client.delete("/v1/items/a", headers=h).status_code == 404
