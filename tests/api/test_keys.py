"""Keys over HTTP: admin scope, only the caller's tenant, the secret shown once, paged lists."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import KeyMaker


def test_create_use_list_and_revoke_a_key(client: TestClient, auth: KeyMaker) -> None:
    admin = auth("shop", "admin")
    r = client.post("/v1/keys", json={"scopes": ["catalog"], "label": "feed"}, headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    secret = body["key"]
    assert secret.startswith(f"atl_{body['key_id']}_")
    assert body["scopes"] == ["catalog"] and body["label"] == "feed" and not body["revoked"]
    assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
    new = {"Authorization": f"Bearer {secret}"}
    assert client.put("/v1/items/i1", json={"title": "x"}, headers=new).status_code == 201
    assert client.get("/v1/keys", headers=new).status_code == 403  # catalog is not admin
    listing = client.get("/v1/keys", headers=admin)
    assert listing.status_code == 200
    assert secret not in listing.text and "key" not in listing.json()["keys"][0]
    assert body["key_id"] in [k["key_id"] for k in listing.json()["keys"]]
    assert client.delete(f"/v1/keys/{body['key_id']}", headers=admin).status_code == 204
    # This worker forgets the key at once (the fixture's cache TTL is 0; the cache is dropped too).
    assert client.put("/v1/items/i1", json={"title": "x"}, headers=new).status_code == 401
    revoked = [k for k in client.get("/v1/keys", headers=admin).json()["keys"] if k["revoked"]]
    assert [k["key_id"] for k in revoked] == [body["key_id"]]


def test_a_key_manages_only_its_tenants_keys(client: TestClient, auth: KeyMaker) -> None:
    a, b = auth("shop-a", "admin"), auth("shop-b", "admin")
    made = client.post("/v1/keys", json={"scopes": ["events"]}, headers=a).json()
    assert made["key_id"] not in client.get("/v1/keys", headers=b).text
    assert client.delete(f"/v1/keys/{made['key_id']}", headers=b).status_code == 404
    still = {"Authorization": f"Bearer {made['key']}"}
    assert client.post("/v1/events", json={"events": []}, headers=still).status_code == 202


def test_bad_key_bodies_name_the_field(client: TestClient, auth: KeyMaker) -> None:
    admin = auth("shop", "admin")
    for body, field in (
        ({"scopes": ["root"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": ["events"], "label": 3}, "label"),
        ({"scopes": ["events"], "tenant": "other"}, "tenant"),
    ):
        r = client.post("/v1/keys", json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
        assert any(field in e["loc"] for e in r.json()["errors"]), r.json()
    assert client.post("/v1/keys", json={"scopes": ["events"]}).status_code == 401


def test_key_lists_are_paged(client: TestClient, auth: KeyMaker) -> None:
    admin = auth("shop", "admin")
    for i in range(4):
        client.post("/v1/keys", json={"scopes": ["events"], "label": f"k{i}"}, headers=admin)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/keys", params=params, headers=admin).json()
        assert len(page["keys"]) <= 2
        seen += [k["key_id"] for k in page["keys"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5  # the admin key itself and the four made
    r = client.get("/v1/keys", params={"cursor": "bm9wZQ"}, headers=admin)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "cursor"]
    assert client.get("/v1/keys", params={"limit": 0}, headers=admin).status_code == 422
