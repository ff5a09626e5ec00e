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


def test_several_items_in_one_lookup(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    for i, price in enumerate((10.0, 20.0, 30.0)):
        client.put(f"/v1/items/s{i}", json={"title": f"S{i}", "price": price}, headers=h)
    reader = auth("shop", "recommend")
    r = client.get("/v1/items?ids=s2,gone,s0,s2", headers=reader)
    assert r.status_code == 200
    assert [(i["item_id"], i["price"]) for i in r.json()["items"]] == [("s2", 30.0), ("s0", 10.0)]
    assert r.json()["missing"] == ["gone"]
    assert client.get("/v1/items?ids=s1", headers=auth("elsewhere")).json() == {
        "items": [],
        "missing": ["s1"],
    }
    too_many = ",".join(f"x{i}" for i in range(101))
    bad = client.get(f"/v1/items?ids={too_many}", headers=reader)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "ids"]
    odd = client.get(f"/v1/items?ids=s1,{'y' * 300}", headers=reader)
    assert odd.status_code == 422 and odd.json()["errors"][0]["loc"] == ["query", "ids", 1]
    assert client.get("/v1/items", headers=reader).status_code == 422


def test_a_get_answer_can_be_sent_back_to_put(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    client.put("/v1/items/belt-2", json={"title": "Belt", "price": 45.0}, headers=h)
    got = client.get("/v1/items/belt-2", headers=h).json()
    r = client.put("/v1/items/belt-2", json={**got, "price": 50.0}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["price"] == 50.0 and r.json()["title"] == "Belt"
    # Another item's id in the body is refused, naming the field; nothing is written.
    r = client.put("/v1/items/belt-2", json={**got, "item_id": "belt-3"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "item_id"]
    assert client.get("/v1/items/belt-3", headers=h).status_code == 404
    assert client.get("/v1/items/belt-2", headers=h).json()["price"] == 50.0
