"""Recommendations over HTTP: rules, cold start, consent, real-time updates, hot swap."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker
from training.train import TrainConfig, train_from_frame

# Two tastes: customers of group A buy a-items, group B buy b-items (implicit's checkerboard).
A = [f"a{i}" for i in range(6)]
B = [f"b{i}" for i in range(6)]


def seed(client: TestClient, h: dict[str, str]) -> None:
    items = [
        {"item_id": i, "category": "alpha" if i[0] == "a" else "beta", "price": 10.0} for i in A + B
    ]
    assert client.post("/v1/items/batch", json={"items": items}, headers=h).json()["upserted"] == 12
    events = []
    for c in range(30):
        group = A if c % 2 == 0 else B
        for k, item in enumerate(group):
            if (c + k) % 3 != 0:  # each customer bought most of their group
                events.append(
                    {
                        "event_id": f"s{c}-{k}",
                        "customer_id": f"c{c}",
                        "item_id": item,
                        "type": "purchase",
                        "value": 10.0,
                        "timestamp": "2025-01-01T00:00:00Z",
                    }
                )
    assert client.post("/v1/events", json={"events": events}, headers=h).status_code == 202


def publish(
    store: Store,
    settings: Settings,
    tenant: str,
    model: str = "ease",
    params: dict[str, object] | None = None,
) -> str:
    folder = train_from_frame(
        store.events_frame(tenant),
        TrainConfig(model=model, params={"l2": 1.0} if params is None else params, progress=False),
        settings.models_dir,
        tenant,
    )
    store.publish_model(tenant, folder.name, {"validation": {"ndcg@10": 0.5}})
    return folder.name


@pytest.fixture(params=["hot-routes", "fastapi-router"])
def client(
    request: pytest.FixtureRequest, store: Store, settings: Settings
) -> Iterator[TestClient]:
    """Every test here runs with the hot route's lean dispatch and through FastAPI's router:
    the answers must not depend on which one served them."""
    app = create_app(settings, store, hot_routes=request.param == "hot-routes")
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def shop(client: TestClient, auth: KeyMaker, store: Store, settings: Settings) -> dict[str, str]:
    h = auth("shop")
    seed(client, h)
    publish(store, settings, "shop")
    return h


def rec(client: TestClient, h: dict[str, str], cid: str, **params: object) -> dict:
    r = client.get(f"/v1/customers/{cid}/recommendations", params=params, headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_personalised_follows_taste_and_never_repeats_purchases(
    client: TestClient, shop: dict
) -> None:
    h = {"Authorization": shop["Authorization"]}
    client.post(
        "/v1/events",
        json={
            "events": [
                {"event_id": "n1", "customer_id": "new", "item_id": "a0", "type": "purchase"},
                {"event_id": "n2", "customer_id": "new", "item_id": "a1", "type": "purchase"},
            ]
        },
        headers=h,
    )
    body = rec(client, h, "new", n=4, explain="true")
    ids = [i["item_id"] for i in body["items"]]
    assert body["fallback"] is None and body["model_version"]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert all(i.startswith("a") for i in ids), ids
    assert not {"a0", "a1"} & set(ids)
    assert any(
        r["type"] in ("because_you_bought", "bought_together", "similar")
        and set(r.get("item_ids", [])) & {"a0", "a1"}
        for i in body["items"]
        for r in i["reasons"]
    )


def test_rules_exclude_category_availability_and_bounds(client: TestClient, shop: dict) -> None:
    h = {"Authorization": shop["Authorization"]}
    body = rec(client, h, "c0", n=100, exclude="a2,b1")
    ids = [i["item_id"] for i in body["items"]]
    assert not {"a2", "b1"} & set(ids)
    bought = {
        e["item_id"] for e in client.get("/v1/customers/c0/export", headers=h).json()["events"]
    }
    assert not bought & set(ids)
    beta = [i["item_id"] for i in rec(client, h, "c0", n=100, category="beta")["items"]]
    assert beta and all(i.startswith("b") for i in beta)
    # deleting or disabling an item removes it from the very next answer
    top = ids[0]
    assert client.delete(f"/v1/items/{top}", headers=h).status_code == 204
    client.put("/v1/items/b5", json={"available": False, "category": "beta"}, headers=h)
    after = {i["item_id"] for i in rec(client, h, "c0", n=100)["items"]}
    assert top not in after and "b5" not in after
    for bad in ({"n": 0}, {"n": 101}, {"n": "ten"}):
        r = client.get("/v1/customers/c0/recommendations", params=bad, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "n"]


def test_cold_start_consent_and_repurchase_policy(client: TestClient, shop: dict) -> None:
    h = {"Authorization": shop["Authorization"]}
    body = rec(client, h, "never-seen", n=3)
    assert body["fallback"] == "popular" and len(body["items"]) == 3
    client.put("/v1/customers/c0", json={"consent": {"personalization": False}}, headers=h)
    body = rec(client, h, "c0", n=5)
    assert body["fallback"] == "no_consent"
    bought = {
        e["item_id"] for e in client.get("/v1/customers/c0/export", headers=h).json()["events"]
    }
    assert not bought & {i["item_id"] for i in body["items"]}
    client.put("/v1/customers/c0", json={}, headers=h)
    assert client.put("/v1/policy", json={"allow_repurchase": True}, headers=h).status_code == 200
    again = {i["item_id"] for i in rec(client, h, "c0", n=12)["items"]}
    assert again & bought  # repurchase wanted: bought items may come back


def test_the_next_answer_reflects_the_last_event(client: TestClient, shop: dict) -> None:
    h = {"Authorization": shop["Authorization"]}
    before = rec(client, h, "fresh", n=3)
    assert before["fallback"] == "popular"
    client.post(
        "/v1/events",
        json={
            "events": [
                {"event_id": "f1", "customer_id": "fresh", "item_id": "b0", "type": "add_to_cart"}
            ]
        },
        headers=h,
    )
    after = rec(client, h, "fresh", n=3)
    assert after["fallback"] is None
    assert all(i["item_id"].startswith("b") for i in after["items"])
    client.post(
        "/v1/events",
        json={
            "events": [
                {
                    "event_id": "f2",
                    "customer_id": "fresh",
                    "item_id": after["items"][0]["item_id"],
                    "type": "purchase",
                }
            ]
        },
        headers=h,
    )
    assert after["items"][0]["item_id"] not in {
        i["item_id"] for i in rec(client, h, "fresh", n=3)["items"]
    }


def test_erased_customer_is_cold_again(client: TestClient, shop: dict) -> None:
    h = {"Authorization": shop["Authorization"]}
    assert rec(client, h, "c1")["fallback"] is None
    assert client.delete("/v1/customers/c1", headers=h).status_code == 204
    assert rec(client, h, "c1")["fallback"] == "popular"


def test_similar_and_cross_sell(client: TestClient, shop: dict) -> None:
    h = {"Authorization": shop["Authorization"]}
    r = client.get("/v1/items/a0/similar", params={"n": 3}, headers=h)
    assert r.status_code == 200
    ids = [i["item_id"] for i in r.json()["items"]]
    assert "a0" not in ids and all(i.startswith("a") for i in ids)
    assert client.get("/v1/items/zzz/similar", headers=h).status_code == 404
    r = client.post(
        "/v1/recommendations/cross-sell", json={"items": ["b0", "b1"], "n": 3}, headers=h
    )
    assert r.status_code == 200
    ids = [i["item_id"] for i in r.json()["items"]]
    assert ids and not {"b0", "b1"} & set(ids) and all(i.startswith("b") for i in ids)
    r = client.post("/v1/recommendations/cross-sell", json={"items": []}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "items"]


def test_no_model_yet_serves_popular_from_the_store(client: TestClient, auth: KeyMaker) -> None:
    h = auth("fresh-shop")
    seed(client, h)
    body = rec(client, h, "c0", n=3)
    assert body["model_version"] is None and body["fallback"] == "popular"
    assert len(body["items"]) == 3


def test_scopes_and_isolation(client: TestClient, shop: dict, auth: KeyMaker) -> None:
    assert (
        client.get("/v1/customers/c0/recommendations", headers=auth("shop", "events")).status_code
        == 403
    )
    assert client.get("/v1/models", headers=auth("shop", "recommend")).status_code == 403
    other = auth("other")
    assert client.get("/v1/items/a0/similar", headers=other).status_code == 404
    assert client.get("/v1/models", headers=other).json() == {"active": None, "versions": []}


def test_models_list_activate_and_roll_back_without_failed_requests(
    client: TestClient, shop: dict, store: Store, settings: Settings
) -> None:
    h = {"Authorization": shop["Authorization"]}
    first = client.get("/v1/models", headers=h).json()
    v1 = first["active"]
    assert first["versions"][0]["family"] == "ease"
    v2 = publish(store, settings, "shop", model="itemknn", params={})
    assert client.get("/v1/models", headers=h).json()["active"] == v1
    # a second worker on the same store
    other = TestClient(create_app(settings, store))
    failures: list[int] = []
    seen: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            r = other.get("/v1/customers/c0/recommendations", headers=h)
            if r.status_code != 200:
                failures.append(r.status_code)
            else:
                seen.add(r.json()["model_version"])

    t = threading.Thread(target=hammer)
    t.start()
    r = client.post(f"/v1/models/{v2}/activate", headers=h)
    assert r.status_code == 200 and r.json()["active"] == v2
    import time

    deadline = time.time() + 10
    while v2 not in seen and time.time() < deadline:
        time.sleep(0.05)
    assert client.post(f"/v1/models/{v1}/activate", headers=h).json()["active"] == v1
    stop.set()
    t.join()
    assert not failures and v2 in seen
    assert client.post("/v1/models/nope/activate", headers=h).status_code == 404
    assert client.post("/v1/models/..%2Fx/activate", headers=h).status_code == 404


def test_factor_model_vectors_follow_events_and_erasure(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    h = auth("als-shop")
    seed(client, h)
    publish(store, settings, "als-shop", model="als", params={"factors": 8, "iterations": 5})
    body = rec(client, h, "c0", n=3)
    assert body["fallback"] is None
    served = client.app.state.recommender.registry.served("als-shop")  # type: ignore[attr-defined]
    foldin = served.foldin
    assert foldin is not None and "c0" in foldin
    client.post(
        "/v1/events",
        json={
            "events": [{"event_id": "x1", "customer_id": "c0", "item_id": "b3", "type": "purchase"}]
        },
        headers=h,
    )
    assert "b3" not in {i["item_id"] for i in rec(client, h, "c0", n=12)["items"]}
    assert client.delete("/v1/customers/c0", headers=h).status_code == 204
    assert "c0" not in foldin
    assert rec(client, h, "c0")["fallback"] == "popular"


def test_hot_route_validates_like_the_others(client: TestClient, shop: dict) -> None:
    h = {"Authorization": shop["Authorization"]}
    r = client.get("/v1/customers/" + "x" * 129 + "/recommendations", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["path", "customer_id"]
    for _ in range(2):  # validated queries are memoised: an invalid one never is
        r = client.get("/v1/customers/c0/recommendations", params={"explain": "perhaps"}, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "explain"]
        assert r.headers["content-type"].startswith("application/problem+json")
    long_exclude = ",".join(f"x{i}" for i in range(200))  # not kept, still validated
    assert rec(client, h, "c0", n=2, exclude=long_exclude) == rec(client, h, "c0", n=2)
    assert client.get("/v1/customers/c0/recommendations").status_code == 401
    body = rec(client, h, "c0", n=2)
    assert set(body) == {"model_version", "items", "fallback"}
    assert all(set(i) == {"item_id", "score"} for i in body["items"])
    params = client.get("/openapi.json").json()["paths"][
        "/v1/customers/{customer_id}/recommendations"
    ]["get"]["parameters"]
    assert {p["name"] for p in params} == {"customer_id", "n", "category", "exclude", "explain"}


def test_every_worker_answers_from_the_stores_current_state(
    client: TestClient, shop: dict, store: Store, settings: Settings
) -> None:
    """A second worker on the same store keeps precomputed answers, yet each write made
    through the first one (event, profile, erasure, catalog change, policy) shows in the
    second one's very next answer."""
    h = {"Authorization": shop["Authorization"]}
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as other:
        first = rec(other, h, "c0", n=3)
        assert rec(other, h, "c0", n=3) == first  # served from the worker's cache
        # an event taken by the first worker: the top item is purchased, so never shown again
        top = first["items"][0]["item_id"]
        ev = {"event_id": "w1", "customer_id": "c0", "item_id": top, "type": "purchase"}
        assert client.post("/v1/events", json={"events": [ev]}, headers=h).status_code == 202
        assert top not in {i["item_id"] for i in rec(other, h, "c0", n=3)["items"]}
        # an impression changes nothing and keeps the cached answer valid
        before = rec(other, h, "c0", n=3)
        imp = {"event_id": "w2", "customer_id": "c0", "item_id": "b0", "type": "impression"}
        client.post("/v1/events", json={"events": [imp]}, headers=h)
        assert rec(other, h, "c0", n=3) == before
        # consent withdrawn, then given back
        client.put("/v1/customers/c0", json={"consent": {"personalization": False}}, headers=h)
        assert rec(other, h, "c0", n=3)["fallback"] == "no_consent"
        client.put("/v1/customers/c0", json={}, headers=h)
        assert rec(other, h, "c0", n=3)["fallback"] is None
        # a deleted item leaves every worker's next answer
        shown = rec(other, h, "c0", n=3)["items"][0]["item_id"]
        assert client.delete(f"/v1/items/{shown}", headers=h).status_code == 204
        assert shown not in {i["item_id"] for i in rec(other, h, "c0", n=12)["items"]}
        # erased on the first worker: the second one no longer knows the customer
        assert client.delete("/v1/customers/c0", headers=h).status_code == 204
        assert rec(other, h, "c0")["fallback"] == "popular"


def test_an_alias_is_answered_as_the_customer_it_was_merged_into(
    client: TestClient, shop: dict, store: Store, settings: Settings
) -> None:
    """After a merge, the old id gets the merged customer's recommendations and cross-sell on
    every worker, even one that cached the old id's answer before the merge."""
    h = {"Authorization": shop["Authorization"]}
    web = [
        {"event_id": f"w{k}", "customer_id": "web-7", "item_id": f"b{k}", "type": "purchase"}
        for k in range(2)
    ]
    assert client.post("/v1/events", json={"events": web}, headers=h).status_code == 202
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as other:
        before = rec(other, h, "web-7", n=4)
        assert all(i["item_id"].startswith("b") for i in before["items"])  # cached by `other`
        r = client.post("/v1/customers/c0/merge", json={"from": ["web-7"]}, headers=h)
        assert r.status_code == 200, r.text
        merged = rec(other, h, "c0", n=4)
        assert rec(other, h, "web-7", n=4) == merged != before
        assert rec(client, h, "web-7", n=4, explain="true") == rec(
            client, h, "c0", n=4, explain="true"
        )
        owned = {"a1", "a2", "a4", "a5", "b0", "b1"}  # c0's purchases and web-7's, now one
        assert not owned & {i["item_id"] for i in merged["items"]}
        r = other.post(
            "/v1/recommendations/cross-sell",
            json={"items": ["a0"], "customer_id": "web-7", "n": 12},
            headers=h,
        )
        assert r.status_code == 200, r.text
        sold = {i["item_id"] for i in r.json()["items"]}
        assert sold and not (owned | {"a0"}) & sold


def test_hot_route_errors_and_metrics(client: TestClient, shop: dict) -> None:
    h = {"Authorization": shop["Authorization"]}
    rec(client, h, "c0")
    client.get("/v1/customers/c0/recommendations", params={"n": 0}, headers=h)
    text = client.get("/metrics").text
    route = "/v1/customers/{customer_id}/recommendations"
    assert f'atelier_http_requests_total{{method="GET",route="{route}",status="200"}}' in text
    assert f'atelier_http_requests_total{{method="GET",route="{route}",status="422"}}' in text
    # an unexpected failure is the app's 500 problem, not a broken connection
    service = client.app.state.recommender  # type: ignore[attr-defined]

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    service.recommend = broken
    r = client.get("/v1/customers/c0/recommendations", headers=h)
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "boom" not in r.text


def corrupt(folder: Path, kind: str) -> str:
    """Damage a published version on disk; returns a text its refusal must contain."""
    name = next(
        n
        for n in ("sim_indices_", "item_factors_", "B_", "popularity_")
        if (folder / f"{n}.npy").exists()
    )
    path = folder / f"{name}.npy"
    arr = np.array(np.load(path))
    if kind == "out-of-range":
        arr[0] = 10_000
        np.save(path, arr)
        return "outside"
    if kind == "nan":
        arr = arr.astype(np.float32)
        arr.reshape(-1)[0] = np.nan
        np.save(path, arr)
        return "NaN"
    if kind == "wrong-shape":
        np.save(path, arr[:-1])
        return "shape"
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:-8])
        return "bytes"
    if kind == "missing":
        path.unlink()
        return "missing"
    arr.reshape(-1)[0] += 1  # same shape and size, another value
    np.save(path, arr)
    return "checksum"


@pytest.mark.parametrize(
    "kind", ["out-of-range", "nan", "wrong-shape", "truncated", "missing", "checksum"]
)
def test_activating_a_bad_version_is_refused_and_the_active_one_keeps_serving(
    client: TestClient, shop: dict, store: Store, settings: Settings, kind: str
) -> None:
    h = {"Authorization": shop["Authorization"]}
    v1 = rec(client, h, "c0")["model_version"]
    v2 = publish(store, settings, "shop", model="itemknn", params={})
    text = corrupt(settings.models_dir / "shop" / v2, kind)
    r = client.post(f"/v1/models/{v2}/activate", headers=h)
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 409 and problem["title"] == "Conflict"
    assert problem["detail"].startswith(f"model version '{v2}' failed validation: ")
    assert text in problem["detail"]
    assert client.get("/v1/models", headers=h).json()["active"] == v1
    assert rec(client, h, "c0")["model_version"] == v1
    assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("als", {"factors": 4, "iterations": 3}),
        ("bpr", {"factors": 4, "iterations": 10, "num_threads": 1}),
        ("ease", {"l2": 1.0}),
        ("itemknn", {}),
        ("popularity", {}),
    ],
)
def test_every_family_with_nan_is_refused(
    client: TestClient, shop: dict, store: Store, settings: Settings, model: str, params: dict
) -> None:
    h = {"Authorization": shop["Authorization"]}
    v1 = client.get("/v1/models", headers=h).json()["active"]
    good = publish(store, settings, "shop", model=model, params=params)
    assert client.post(f"/v1/models/{good}/activate", headers=h).status_code == 200
    assert client.post(f"/v1/models/{v1}/activate", headers=h).status_code == 200
    bad = publish(store, settings, "shop", model=model, params=params)
    corrupt(settings.models_dir / "shop" / bad, "nan")
    r = client.post(f"/v1/models/{bad}/activate", headers=h)
    assert r.status_code == 409 and "NaN" in r.json()["detail"]
    assert rec(client, h, "c0")["model_version"] == v1


def test_category_takes_several_comma_separated(client: TestClient, shop: dict) -> None:
    h = {"Authorization": shop["Authorization"]}
    both = {i["item_id"][0] for i in rec(client, h, "c0", n=100, category="beta,alpha")["items"]}
    assert both == {"a", "b"}
    beta = [i["item_id"] for i in rec(client, h, "c0", n=100, category="beta")["items"]]
    # An unknown category matches nothing; spaces and order do not matter.
    assert [
        i["item_id"] for i in rec(client, h, "c0", n=100, category=" nosuch, beta")["items"]
    ] == beta
    r = client.get("/v1/items/a0/similar", params={"n": 10, "category": "alpha,beta"}, headers=h)
    assert r.status_code == 200 and {i["item_id"][0] for i in r.json()["items"]} == {"a", "b"}
    r = client.get("/v1/items/a0/similar", params={"category": "beta"}, headers=h)
    assert r.json()["items"] and all(i["item_id"][0] == "b" for i in r.json()["items"])
    for path in ("/v1/customers/c0/recommendations", "/v1/items/a0/similar"):
        r = client.get(path, params={"category": " , "}, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "category"]


def test_popular_from_the_store_filters_several_categories(
    client: TestClient, auth: KeyMaker
) -> None:
    h = auth()
    seed(client, h)  # no model published: answers come from the store's popularity
    body = rec(client, h, "nobody", n=20, category="alpha,beta")
    assert body["fallback"] == "popular" and {i["item_id"][0] for i in body["items"]} == {"a", "b"}
    only = rec(client, h, "nobody", n=20, category="beta")
    assert only["items"] and all(i["item_id"][0] == "b" for i in only["items"])
