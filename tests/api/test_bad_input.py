"""Bad input at the door (issue 10, items 4, 5 and 11): a 4xx problem naming the field, never a
5xx; strict types; one nesting limit; a bad batch row rejected by its index, the others stored."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import ROUTERS
from api.routing import MAX_DEPTH, StrictJSONRoute
from api.schemas.common import ProblemPublic
from store.base import Store
from tests.api.conftest import KeyMaker

JSON = {"Content-Type": "application/json"}
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemPublic"}

#: Values that are not finite, storable JSON, as raw JSON text.
BAD_VALUES = {
    "integer beyond 64 bits": b"18446744073709551616",
    "negative integer beyond 64 bits": b"-9223372036854775809",
    "lone surrogate": b'"\\ud800"',
    "NaN": b"NaN",
    "Infinity": b"-Infinity",
    "overflowing float": b"1e400",
}


def send(client: TestClient, method: str, path: str, raw: bytes, headers: dict[str, str]) -> Any:
    return client.request(method, path, content=raw, headers={**headers, **JSON})


def assert_problem(r: Any, status: int, loc: list[object]) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"][0]["loc"] == loc


@pytest.mark.parametrize("raw", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_bad_value_in_free_attributes_is_422_naming_the_field(
    client: TestClient, auth: KeyMaker, store: Store, raw: bytes
) -> None:
    h = auth()
    body = b'{"attributes": {"ok": 1, "a": [' + raw + b"]}}"
    r = send(client, "PUT", "/v1/items/i1", body, h)
    assert_problem(r, 422, ["body", "attributes"])
    assert "a.0:" in r.json()["errors"][0]["msg"]
    r = send(client, "PUT", "/v1/customers/c1", body, h)
    assert_problem(r, 422, ["body", "attributes"])
    assert store.get_item("shop", "i1") is None and store.get_customer("shop", "c1") is None


def test_a_bad_key_in_free_attributes_is_422(client: TestClient, auth: KeyMaker) -> None:
    r = send(client, "PUT", "/v1/items/i1", b'{"attributes": {"\\udc00": 1}}', auth())
    assert_problem(r, 422, ["body", "attributes"])


def test_64_bit_integers_are_kept_exactly(client: TestClient, auth: KeyMaker) -> None:
    h = auth()
    body = b'{"attributes": {"max": 18446744073709551615, "min": -9223372036854775808}}'
    r = send(client, "PUT", "/v1/items/i1", body, h)
    assert r.status_code == 201, r.text
    attrs = client.get("/v1/items/i1", headers=h).json()["attributes"]
    assert attrs == {"max": 2**64 - 1, "min": -(2**63)}


@pytest.mark.parametrize("raw", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_bad_row_of_an_event_batch_is_rejected_by_index(
    client: TestClient, auth: KeyMaker, store: Store, raw: bytes
) -> None:
    ok = b'{"event_id": "e%d", "customer_id": "c1", "item_id": "i1", "type": "view"}'
    bad = b'{"event_id": "bad", "customer_id": "c1", "item_id": "i1", "type": "view",'
    bad += b' "context": {"x": ' + raw + b"}}"
    body = b'{"events": [' + b", ".join([ok % 1, bad, ok % 2]) + b"]}"
    r = send(client, "POST", "/v1/events", body, auth())
    assert r.status_code == 202, r.text
    assert r.json()["accepted"] == 2
    (rejected,) = r.json()["rejected"]
    assert rejected["index"] == 1 and rejected["errors"][0]["loc"] == ["context"]
    assert sorted(e.event_id for e in store.customer_events("shop", "c1")) == ["e1", "e2"]


@pytest.mark.parametrize("raw", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_bad_row_of_an_item_batch_is_rejected_by_index(
    client: TestClient, auth: KeyMaker, store: Store, raw: bytes
) -> None:
    body = b'{"items": [{"item_id": "a"}, {"item_id": "b", "attributes": {"x": ' + raw
    body += b'}}, {"item_id": "c", "price": ' + raw + b'}, {"item_id": "d"}]}'
    r = send(client, "POST", "/v1/items/batch", body, auth())
    assert r.status_code == 200, r.text
    assert r.json()["upserted"] == 2
    errors = {e["index"]: e["errors"][0]["loc"] for e in r.json()["errors"]}
    assert errors == {1: ["attributes"], 2: ["price"]}
    assert [i.item_id for i in store.iter_items("shop")] == ["a", "d"]


def test_a_row_that_is_not_an_object_is_rejected_by_index(
    client: TestClient, auth: KeyMaker
) -> None:
    r = client.post("/v1/items/batch", json={"items": [{"item_id": "a"}, 7]}, headers=auth())
    assert r.status_code == 200 and r.json()["upserted"] == 1
    assert r.json()["errors"][0]["index"] == 1


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/v1/customers/c1", {"consent": {"personalization": 0}}, ["consent", "personalization"]),
        (
            "/v1/customers/c1",
            {"consent": {"personalization": "yes"}},
            ["consent", "personalization"],
        ),
        ("/v1/items/i1", {"available": 0}, ["available"]),
        ("/v1/items/i1", {"available": "true"}, ["available"]),
        ("/v1/items/i1", {"price": False}, ["price"]),
        ("/v1/items/i1", {"price": "12.5"}, ["price"]),
        ("/v1/policy", {"allow_repurchase": 1}, ["allow_repurchase"]),
    ],
)
def test_types_are_strict(
    client: TestClient, auth: KeyMaker, path: str, body: dict[str, object], loc: list[str]
) -> None:
    r = client.put(path, json=body, headers=auth())
    assert_problem(r, 422, ["body", *loc])


def test_cross_sell_n_is_strict(client: TestClient, auth: KeyMaker) -> None:
    for n in (True, "5", 5.0):
        r = client.post(
            "/v1/recommendations/cross-sell", json={"items": ["a"], "n": n}, headers=auth()
        )
        assert_problem(r, 422, ["body", "n"])


def test_strict_numbers_still_take_integers(client: TestClient, auth: KeyMaker) -> None:
    r = client.put("/v1/items/i1", json={"price": 12, "available": False}, headers=auth())
    assert r.status_code == 201 and r.json()["price"] == 12.0 and r.json()["available"] is False


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 300, 1_000, 10_000, 100_000])
def test_every_depth_above_the_limit_answers_the_same_problem(
    client: TestClient, auth: KeyMaker, depth: int
) -> None:
    h = auth()
    body = b'{"attributes": {"a": ' + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}"
    r = send(client, "PUT", "/v1/items/i1", body, h)
    assert_problem(r, 422, ["body"])
    assert r.json()["detail"] == f"JSON nested deeper than {MAX_DEPTH} levels"
    body = b'{"events": [' + b"[" * depth + b"]" * depth + b"]}"
    assert send(client, "POST", "/v1/events", body, h).json()["detail"] == r.json()["detail"]


def test_nesting_at_the_limit_is_accepted(client: TestClient, auth: KeyMaker) -> None:
    depth = MAX_DEPTH - 2  # the body's object and attributes are two levels
    body = b'{"attributes": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
    r = send(client, "PUT", "/v1/items/i1", body, auth())
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("raw", [b"{not json", b'{"title": ', b"\xff\xfe{}", b'{"a": 1} x', b""])
def test_malformed_json_is_a_documented_422_problem(
    client: TestClient, auth: KeyMaker, raw: bytes
) -> None:
    r = send(client, "PUT", "/v1/items/i1", raw, auth())
    assert_problem(r, 422, ["body"])
    doc = client.get("/openapi.json").json()
    media = doc["paths"]["/v1/items/{item_id}"]["put"]["responses"]["422"]["content"]
    assert media == {"application/problem+json": {"schema": PROBLEM_REF}}
    ProblemPublic.model_validate_json(r.content)  # the document's problem schema


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/items/i1", "DELETE, GET, OPTIONS, PUT"),
        ("/v1/customers/c1", "DELETE, GET, OPTIONS, PATCH, PUT"),
        ("/v1/events", "OPTIONS, POST"),
    ],
)
def test_options_and_405_name_every_method_of_the_path(
    client: TestClient, path: str, methods: str
) -> None:
    r = client.options(path)
    assert (r.status_code, r.headers["allow"]) == (204, methods)
    r = client.request("TRACE", path)
    assert (r.status_code, r.headers["allow"]) == (405, methods)
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "TRACE is not a method of this path"


def test_options_on_an_unknown_path_is_404(client: TestClient) -> None:
    assert client.options("/v1/nothing-here").status_code == 404


def test_every_route_reads_bodies_strictly() -> None:
    routes = [r for module in ROUTERS for r in module.router.routes]
    assert len(routes) > 20 and all(isinstance(r, StrictJSONRoute) for r in routes)


def test_a_family_body_with_a_bad_value_is_422(client: TestClient, auth: KeyMaker) -> None:
    body = b'{"id": "mug", "name": "Mug", "base_price": NaN, "attributes": []}'
    r = send(client, "PUT", "/v1/configurator/products/mug", body, auth())
    assert_problem(r, 422, ["body"])


def test_a_null_case_status_is_422_and_the_case_keeps_its_status(
    client: TestClient, auth: KeyMaker
) -> None:
    """Found by the fuzzer: ``"status": null`` was stored, and every later answer was a 500."""
    h = auth()
    assert client.put("/v1/customers/c1", json={}, headers=h).status_code == 201
    case = {"case_id": "k1", "kind": "complaint", "category": "fit", "severity": 2}
    assert client.post("/v1/customers/c1/cases", json=case, headers=h).status_code == 201
    r = client.patch("/v1/customers/c1/cases/k1", json={"status": None}, headers=h)
    assert_problem(r, 422, ["body", "status"])
    (listed,) = client.get("/v1/customers/c1/cases", headers=h).json()["cases"]
    assert listed["status"] == "open"
