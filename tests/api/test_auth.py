"""Keys, scopes, rate limits and tenant isolation on every resource."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from access.keys import create_key, parse_scopes
from api.main import create_app
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker

# (method, path, body, scope) for every tenant resource of the foundation.
RESOURCES = [
    ("PUT", "/v1/items/i1", {"title": "x"}, "catalog"),
    ("POST", "/v1/items/batch", {"items": []}, "catalog"),
    ("DELETE", "/v1/items/i1", None, "catalog"),
    ("PUT", "/v1/customers/c1", {}, "customers"),
    ("GET", "/v1/customers/c1", None, "customers"),
    ("GET", "/v1/customers/c1/export", None, "customers"),
    ("DELETE", "/v1/customers/c1", None, "customers"),
    ("GET", "/v1/account-managers/am1/customers", None, "customers"),
    ("POST", "/v1/events", {"events": []}, "events"),
]


@pytest.mark.parametrize(("method", "path", "body", "scope"), RESOURCES)
def test_missing_unknown_and_unscoped_keys(
    client: TestClient, auth: KeyMaker, method: str, path: str, body: object, scope: str
) -> None:
    r = client.request(method, path, json=body)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.request(method, path, json=body, headers={"Authorization": "Bearer atl_nope"})
    assert r.status_code == 401
    other_scope = "recommend" if scope != "recommend" else "events"
    r = client.request(method, path, json=body, headers=auth("shop", other_scope))
    assert r.status_code == 403
    assert scope in r.json()["detail"]


def test_other_tenants_resources_answer_404_as_if_absent(
    client: TestClient, auth: KeyMaker
) -> None:
    a, b = auth("shop-a"), auth("shop-b")
    assert client.put("/v1/items/i1", json={"title": "A's"}, headers=a).status_code == 201
    assert client.put("/v1/customers/c1", json={}, headers=a).status_code == 201
    ev = {"event_id": "e1", "customer_id": "c1", "item_id": "i1", "type": "view"}
    assert client.post("/v1/events", json={"events": [ev]}, headers=a).json()["accepted"] == 1
    assert client.get("/v1/items/i1", headers=b).status_code == 404
    assert client.delete("/v1/items/i1", headers=b).status_code == 404
    assert client.get("/v1/customers/c1", headers=b).status_code == 404
    assert client.get("/v1/customers/c1/export", headers=b).status_code == 404
    assert client.delete("/v1/customers/c1", headers=b).status_code == 404
    # B writing the same ids creates B's own records; A's are untouched.
    assert client.put("/v1/items/i1", json={"title": "B's"}, headers=b).status_code == 201
    assert client.post("/v1/events", json={"events": [ev]}, headers=b).json()["accepted"] == 1
    assert client.get("/v1/items/i1", headers=a).json()["title"] == "A's"
    export = client.get("/v1/customers/c1/export", headers=a).json()
    assert len(export["events"]) == 1


def test_revoked_key_is_refused(client: TestClient, store: Store) -> None:
    record, secret = create_key(store, "shop", parse_scopes("catalog"))
    h = {"Authorization": f"Bearer {secret}"}
    assert client.put("/v1/items/a", json={}, headers=h).status_code == 201
    store.revoke_api_key(record.key_id)
    assert client.put("/v1/items/a", json={}, headers=h).status_code == 401


def test_keys_store_only_hashes(store: Store) -> None:
    record, secret = create_key(store, "shop", parse_scopes("events"))
    assert secret.startswith(f"atl_{record.key_id}_")
    listed = store.list_api_keys("shop")
    assert secret not in repr(listed)


def test_rate_limit_answers_429_with_retry_after(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_limit_requests=3, rate_limit_window_s=60)
    _, secret = create_key(store, "shop", parse_scopes("customers"))
    h = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(settings, store)) as c:
        codes = [c.get("/v1/customers/x", headers=h).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        r = c.get("/v1/customers/x", headers=h)
        assert r.status_code == 429
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # The counter lives in the store: a second app (another worker) sees the same budget.
        with TestClient(create_app(settings, store)) as other:
            assert other.get("/v1/customers/x", headers=h).status_code == 429
    # Another key has its own budget.
    _, fresh = create_key(store, "shop", parse_scopes("customers"))
    with TestClient(create_app(settings, store)) as c:
        assert (
            c.get("/v1/customers/x", headers={"Authorization": f"Bearer {fresh}"}).status_code
            == 404
        )
