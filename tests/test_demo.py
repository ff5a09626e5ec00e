"""The demo tenant behind ``make serve``: deterministic, believable, and every endpoint answers."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from access.keys import create_key, parse_scopes
from api.main import create_app
from cli.main import main
from demo.dialogue import SECOND_IDS
from demo.generator import generate
from dialogue.questions import APPAREL_BANK
from settings import Settings
from store.embedded import SQLiteStore


def test_generator_is_deterministic_and_pareto_like() -> None:
    end = datetime(2026, 1, 1, tzinfo=UTC)
    a, b = generate(seed=3, n_customers=400, end=end), generate(seed=3, n_customers=400, end=end)
    assert [(e.event_id, e.item_id, e.timestamp) for e in a.events] == [
        (e.event_id, e.item_id, e.timestamp) for e in b.events
    ]
    spend: dict[str, float] = {}
    for e in a.events:
        if e.type == "purchase":
            spend[e.customer_id] = spend.get(e.customer_id, 0.0) + (e.value or 0.0)
    values = np.sort(np.array(list(spend.values())))[::-1]
    top_fifth = values[: len(a.customers) // 5].sum() / values.sum()
    assert top_fifth > 0.5  # a fifth of the customers bring most of the revenue
    assert {i.category for i in a.items} >= {"jeans", "belts", "shirts", "jackets", "shoes", "care"}
    assert {e.type for e in a.events} >= {"view", "add_to_cart", "purchase", "return"}
    assert min(e.timestamp for e in a.events) >= end.timestamp() - 366 * 86400
    last = {}
    for e in a.events:
        last[e.customer_id] = max(last.get(e.customer_id, 0.0), e.timestamp)
    quiet = sum(1 for t in last.values() if t < end.timestamp() - 75 * 86400)
    assert quiet > 0.05 * len(last)  # some customers decline and go quiet


def test_demo_load_makes_every_endpoint_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATELIER_DEMO_CUSTOMERS", "300")
    assert main(["demo", "load"]) == 0
    assert "trained and published" in capsys.readouterr().out
    assert main(["demo", "load"]) == 0  # idempotent
    assert "left as is" in capsys.readouterr().out
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    _, secret = create_key(
        store, "demo", parse_scopes("events,catalog,customers,recommend,configure,admin")
    )
    h = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(Settings(data_dir=tmp_path), store)) as c:
        # Ready once the active model is loaded and its answers are precomputed.
        deadline = time.monotonic() + 60
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, c.get("/readyz").json()
            time.sleep(0.1)
        assert c.get("/v1/customers/cust-00001", headers=h).status_code == 200
        rec = c.get("/v1/customers/cust-00002/recommendations?explain=true", headers=h).json()
        assert rec["model_version"] and rec["items"]
        assert c.get("/v1/items/jeans-slim-rinse/similar", headers=h).json()["items"]
        assert c.post(
            "/v1/recommendations/cross-sell", json={"items": ["jeans-slim-rinse"]}, headers=h
        ).json()["items"]
        insights = c.get("/v1/customers/cust-00002/insights", headers=h)
        assert insights.status_code == 200 and insights.json()["tier"] in (
            "MVC",
            "MGC",
            "BZ",
            "standard",
        )
        assert c.get("/v1/insights/pareto", headers=h).json()["top_revenue_share"] > 0.5
        assert c.get("/v1/models", headers=h).json()["active"] == rec["model_version"]
        managers = c.get("/v1/account-managers/am-1/customers", headers=h).json()
        assert managers["customers"]
        # Offers name what to offer: every cross-sell and upgrade of the demo has items (0 of
        # 800 had any before the recommender was connected), in audiences and worklists.
        everyone = c.get("/v1/insights/customers?limit=1000", headers=h).json()["customers"]
        offers = [
            m
            for m in everyone + managers["customers"]
            if (m["next_best_action"] or {}).get("action") in ("cross_sell", "upgrade")
        ]
        assert len(offers) > 10
        assert all(m["next_best_action"]["items"] for m in offers)
        assert all(m["next_best_action"]["channel"] for m in everyone)
        _check_dialogue(c, h, store)


def _check_dialogue(c: TestClient, h: dict[str, str], store: SQLiteStore) -> None:
    """The demo dialogue: the apparel bank, managers' contacts, complaints resolved in one
    contact, in several and still open, answered and unanswered questions, two merged ids."""
    bank = {q["question_id"] for q in c.get("/v1/questions", headers=h).json()["questions"]}
    assert bank == set(APPAREL_BANK)
    contacts = [d for _, d in store.iter_contacts("demo")]
    assert len(contacts) > 20 and {d["direction"] for d in contacts} == {"inbound", "outbound"}
    assert any(d["next_contact_at"] for d in contacts)  # follow-ups are due
    complaints = [d for _, d in store.iter_cases("demo") if d["kind"] == "complaint"]
    took = sorted(d["contacts_to_resolve"] or 0 for d in complaints)
    assert took.count(0) >= 1 and took.count(1) >= 1 and max(took) > 1  # open, one, several
    assert {d["status"] for d in complaints} == {"open", "resolved"}
    answered = {cid for cid, _ in store.iter_answers("demo")}
    assert len(answered) > 10
    cid = sorted(answered)[0]
    facts = c.get(f"/v1/customers/{cid}", headers=h).json()["facts"]
    assert facts and all(f["question"] for f in facts)
    asked = c.get(f"/v1/customers/{cid}/next-questions?n=2", headers=h).json()["questions"]
    assert asked and not {q["question_id"] for q in asked} & {f["question_id"] for f in facts}
    for alias, into in SECOND_IDS:
        view = c.get(f"/v1/customers/{alias}", headers=h).json()
        assert view["customer_id"] == into
        export = c.get(f"/v1/customers/{into}", headers=h)
        assert export.status_code == 200
        assert alias in c.get(f"/v1/customers/{into}/export", headers=h).json()["aliases"]
        assert any(e.event_id.startswith(alias) for e in store.customer_events("demo", into))


def test_the_logistics_question_bank_loads_through_the_api(tmp_path: Path) -> None:
    """demo/questions/bank.yaml, PUT question by question as README shows: every one is
    accepted, and its facts name the logistics family's attributes and measurements."""
    import yaml

    from configurator import reference_families

    path = Path(__file__).parents[1] / "demo" / "questions" / "bank.yaml"
    bank = yaml.safe_load(path.read_text())["questions"]
    store = SQLiteStore(tmp_path / "s.sqlite3")
    _, secret = create_key(store, "logistics", parse_scopes("admin,customers"))
    h = {"Authorization": f"Bearer {secret}"}
    with TestClient(create_app(Settings(data_dir=tmp_path), store)) as c:
        for qid, q in bank.items():
            r = c.put(f"/v1/questions/{qid}", json=q, headers=h)
            assert r.status_code == 201, (qid, r.text)
        assert len(c.get("/v1/questions", headers=h).json()["questions"]) == len(bank) >= 5
    family = reference_families()["logistics-bundle"]
    names = {a.name for a in family.attributes} | {m.name for m in family.measurements}
    assert {"weight_kg", "cargo", "insurance"} <= {q["attribute"] for q in bank.values()} & names
