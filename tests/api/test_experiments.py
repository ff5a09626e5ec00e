"""A/B experiments over HTTP (both backends): sticky arms named in answers, feedback credited
to the arm, a broken arm served by the other one, bad input, ending with a promotion; and the
recommendation report's bad input."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from recommender.artifacts import version_folder
from recommender.experiments import Experiment
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker
from tests.api.test_recommendations import publish, rec, seed


@pytest.fixture
def client(store: Store, settings: Settings) -> Any:
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def shop(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> tuple[dict[str, str], str, str]:
    h = auth("shop")
    seed(client, h)
    a = publish(store, settings, "shop", "ease", {"l2": 1.0})
    b = publish(store, settings, "shop", "itemknn", {})
    assert a != b
    return h, a, b


def experiment_of(answer: dict[str, Any]) -> Experiment:
    """The experiment an answer shows (its times are RFC 3339 there, epoch seconds inside)."""
    started = datetime.fromisoformat(answer["started_at"]).timestamp()
    return Experiment.from_doc({**answer, "started_at": started, "ended_at": None})


def start(client: TestClient, h: dict[str, str], a: str, b: str, share: float = 0.5) -> Any:
    body = {"arms": {"A": a, "B": b}, "split": {"A": share, "B": round(1 - share, 6)}}
    return client.put("/v1/experiments/exp1", json=body, headers=h)


def test_each_customer_stays_in_one_arm_named_in_the_answer(
    client: TestClient, shop: tuple[dict[str, str], str, str]
) -> None:
    h, a, b = shop
    assert "experiment" not in rec(client, h, "c0")  # no experiment yet
    r = start(client, h, a, b)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["status"] == "running" and doc["arms"] == {"A": a, "B": b}
    exp = experiment_of(doc)
    seen: dict[str, str] = {}
    for c in range(30):
        cid = f"c{c}"
        for _ in range(2):
            body = rec(client, h, cid, n=3)
            arm = body["experiment"]["arm"]
            assert body["experiment"]["experiment_id"] == "exp1"
            assert seen.setdefault(cid, arm) == arm  # sticky
            assert arm == exp.assign("shop", cid)  # a pure function: the same on any worker
            assert body["model_version"] == doc["arms"][arm]
    assert set(seen.values()) == {"A", "B"}
    cross = client.post(
        "/v1/recommendations/cross-sell", json={"items": ["a0"], "customer_id": "c3"}, headers=h
    ).json()
    assert cross["experiment"]["arm"] == seen["c3"]


def test_feedback_with_the_arm_context_is_credited_to_the_arm(
    client: TestClient, shop: tuple[dict[str, str], str, str]
) -> None:
    h, a, b = shop
    start(client, h, a, b)
    events: list[dict[str, Any]] = []
    for c in range(30):
        body = rec(client, h, f"c{c}", n=2)
        for k, item in enumerate(body["items"]):
            ctx = {**body["experiment"], "model_version": body["model_version"]}
            base = {"customer_id": f"c{c}", "item_id": item["item_id"], "context": ctx}
            events.append({**base, "event_id": f"i{c}-{k}", "type": "impression"})
            if k == 0:
                events.append({**base, "event_id": f"k{c}", "type": "click"})
                events.append({**base, "event_id": f"p{c}", "type": "purchase", "value": 5.0})
    assert client.post("/v1/events", json={"events": events}, headers=h).status_code == 202
    got = client.get("/v1/experiments/exp1", headers=h).json()
    groups = {g["key"]: g for g in got["results"]["groups"]}
    arms = {c: experiment_of(got).assign("shop", f"c{c}") for c in range(30)}
    for arm in ("A", "B"):
        customers = sum(1 for x in arms.values() if x == arm)
        assert groups[arm]["impressions"] == 2 * customers
        assert groups[arm]["clicks"] == customers and groups[arm]["conversions"] == customers
        assert groups[arm]["revenue"] == 5.0 * customers
        assert groups[arm]["ctr"]["low"] < 0.5 < groups[arm]["ctr"]["high"]
    (diff,) = got["results"]["comparisons"]
    assert diff["baseline"] == "A" and diff["variant"] == "B"
    report = client.get("/v1/reports/recommendations", params={"by": "arm"}, headers=h).json()
    assert {g["key"]: g["impressions"] for g in report["groups"]} == {
        k: g["impressions"] for k, g in groups.items()
    }
    by_version = client.get("/v1/reports/recommendations", headers=h).json()
    assert {g["key"] for g in by_version["groups"]} == {a, b}


def test_an_arm_that_fails_to_load_is_served_by_the_other(
    client: TestClient, shop: tuple[dict[str, str], str, str], settings: Settings
) -> None:
    h, a, b = shop
    folder = version_folder(settings.models_dir, "shop", b)
    originals = {f: f.read_bytes() for f in folder.glob("*.npy")}
    for f, data in originals.items():
        f.write_bytes(data[:-8] + b"\x00" * 8)  # same size, other bytes
    start(client, h, a, b)
    exp = experiment_of(client.get("/v1/experiments/exp1", headers=h).json())
    b_customer = next(f"c{c}" for c in range(30) if exp.assign("shop", f"c{c}") == "B")
    body = rec(client, h, b_customer, n=3)
    assert body["experiment"]["arm"] == "A" and body["model_version"] == a
    status = client.get("/v1/experiments/exp1", headers=h).json()["arm_status"]
    assert status["A"]["serving"] and status["A"]["problem"] is None
    assert not status["B"]["serving"] and status["B"]["problem"]
    assert status["B"]["served_by"] == "A"
    # repaired files: the arm is tried again and serves its own customers
    time.sleep(0.01)  # a new modification time
    for f, data in originals.items():
        f.write_bytes(data)
    body = rec(client, h, b_customer, n=3)
    assert body["experiment"]["arm"] == "B" and body["model_version"] == b
    assert client.get("/v1/experiments/exp1", headers=h).json()["arm_status"]["B"]["serving"]


def test_bad_experiments_name_the_field(
    client: TestClient, shop: tuple[dict[str, str], str, str]
) -> None:
    h, a, b = shop
    put = client.put
    r = put(
        "/v1/experiments/exp1",
        json={"arms": {"A": a, "B": "nope"}, "split": {"A": 0.5, "B": 0.5}},
        headers=h,
    )
    assert r.status_code == 404 and "nope" in r.json()["detail"]
    r = start(client, h, a, b, share=0.6)
    r = put(
        "/v1/experiments/exp1",
        json={"arms": {"A": a, "B": b}, "split": {"A": 0.6, "B": 0.5}},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "split"]
    r = put(
        "/v1/experiments/exp1",
        json={"arms": {"A": a, "B": b}, "split": {"A": 1.0, "C": 0.0}},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "split"]
    r = put(
        "/v1/experiments/exp1",
        json={"arms": {"A": a, "B": b}, "split": {"A": "half", "B": 0.5}},
        headers=h,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "split", "A"]
    r = put("/v1/experiments/exp1", json={"arms": {"A": a}, "split": {"A": 1.0}}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][:2] == ["body", "arms"]
    assert start(client, h, a, b).status_code == 200
    assert start(client, h, a, b, share=0.7).status_code == 200  # the running one may change
    other = {"arms": {"A": a, "B": b}, "split": {"A": 0.5, "B": 0.5}}
    r = put("/v1/experiments/exp2", json=other, headers=h)
    assert r.status_code == 409 and "exp1" in r.json()["detail"]
    assert client.get("/v1/experiments/nope", headers=h).status_code == 404
    r = client.delete("/v1/experiments/exp1", params={"promote": "Z"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "promote"]
    r = client.put("/v1/experiments/exp1", json=other)
    assert r.status_code == 401


def test_ending_promotes_an_arm_and_answers_leave_the_experiment(
    client: TestClient, shop: tuple[dict[str, str], str, str], store: Store
) -> None:
    h, a, b = shop
    assert store.active_model("shop") == a
    start(client, h, a, b)
    r = client.delete("/v1/experiments/exp1", params={"promote": "B"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "ended" and r.json()["promoted"] == b
    assert store.active_model("shop") == b
    assert "experiment" not in rec(client, h, "c0")
    assert client.delete("/v1/experiments/exp1", headers=h).status_code == 404
    # another experiment may start now; 'winner' with no feedback promotes nothing
    assert (
        client.put(
            "/v1/experiments/exp2",
            json={"arms": {"A": a, "B": b}, "split": {"A": 0.5, "B": 0.5}},
            headers=h,
        ).status_code
        == 200
    )
    done = client.delete("/v1/experiments/exp2", params={"promote": "winner"}, headers=h).json()
    assert done["promoted"] is None and store.active_model("shop") == b


def test_report_bad_input_names_the_field(
    client: TestClient, shop: tuple[dict[str, str], str, str]
) -> None:
    h, _, _ = shop
    q = {"from": "2025-02-01T00:00:00Z", "to": "2025-01-01T00:00:00Z"}
    r = client.get("/v1/reports/recommendations", params=q, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "to"]
    for bad, loc in (
        ({"by": "month"}, "by"),
        ({"from": "yesterday"}, "from"),
        ({"window_days": 0}, "window_days"),
    ):
        r = client.get("/v1/reports/recommendations", params=bad, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", loc], r.text
    ok = client.get("/v1/reports/recommendations", params={"from": q["to"]}, headers=h).json()
    assert ok["from"] == 1735689600.0 and ok["groups"] == [] and ok["methods"]["rates"]


def test_the_list_shows_the_running_experiment_first_then_the_newest(
    client: TestClient, shop: tuple[dict[str, str], str, str], auth: KeyMaker
) -> None:
    h, a, b = shop
    assert client.get("/v1/experiments", headers=h).json() == {"experiments": []}
    start(client, h, a, b)
    assert client.delete("/v1/experiments/exp1", headers=h).status_code == 200
    body = {"arms": {"A": b, "B": a}, "split": {"A": 0.5, "B": 0.5}}
    assert client.put("/v1/experiments/exp0", json=body, headers=h).status_code == 200
    listed = client.get("/v1/experiments", headers=h).json()["experiments"]
    assert [(e["experiment_id"], e["status"]) for e in listed] == [
        ("exp0", "running"),
        ("exp1", "ended"),
    ]
    assert listed[0]["arms"] == {"A": b, "B": a} and "results" not in listed[0]
    client.delete("/v1/experiments/exp0", headers=h)
    time.sleep(0.01)
    assert client.put("/v1/experiments/exp2", json=body, headers=h).status_code == 200
    client.delete("/v1/experiments/exp2", headers=h)
    ended = client.get("/v1/experiments", headers=h).json()["experiments"]
    assert [e["experiment_id"] for e in ended] == ["exp2", "exp0", "exp1"]  # newest started first
    other = auth("elsewhere")
    assert client.get("/v1/experiments", headers=other).json() == {"experiments": []}
    assert client.get("/v1/experiments", headers=auth("shop", "recommend")).status_code == 403
