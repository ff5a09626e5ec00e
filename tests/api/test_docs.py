"""The documentation pages and the security scheme, without a browser (the browser check is
``test_docs_browser.py``)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def test_docs_pages_load_only_their_own_assets(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        page = client.get(path)
        assert page.status_code == 200
        assert "default-src 'none'" in page.headers["content-security-policy"]
        urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert urls and all(u.startswith("/") for u in urls), urls
        for url in urls:
            if url.startswith("/docs/assets/"):
                assert client.get(url).status_code == 200, url
    assert '"validatorUrl": null' in client.get("/docs").text


def test_every_v1_operation_declares_the_bearer_key_and_its_scope(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearerKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearerKey"]["description"],
    }
    scopes = {}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if path.startswith("/v1/"):
                (requirement,) = op["security"]
                scopes[(method, path)] = requirement["bearerKey"]
            else:
                # health needs no key; /metrics takes one optionally (an admin key's labels)
                assert op.get("security", [{}])[0] == {}, path
    assert scopes[("get", "/v1/customers/{customer_id}/recommendations")] == ["recommend"]
    assert scopes[("post", "/v1/keys")] == ["admin"]
    assert scopes[("put", "/v1/items/{item_id}")] == ["catalog"]
    assert scopes[("post", "/v1/events")] == ["events"]
