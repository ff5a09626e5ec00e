"""The dialogue over HTTP on both backends: contacts, cases, questions, answers, next questions,
and the bad input each refuses with a 4xx naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import KeyMaker

QUESTIONS = {
    "budget": {"text": "Budget?", "kind": "number", "attribute": "wallet", "decides": "wallet"},
    "size": {
        "text": "Size?",
        "kind": "choice",
        "options": ["S", "M", "L"],
        "attribute": "size",
        "decides": "size",
    },
    "reach": {
        "text": "How to reach you?",
        "kind": "choice",
        "options": ["email", "phone"],
        "attribute": "preferred_channel",
        "decides": "channel",
    },
}


@pytest.fixture
def h(client: TestClient, auth: KeyMaker) -> dict[str, str]:
    headers = auth()
    client.put("/v1/customers/c1", json={"account_manager": "am-1"}, headers=headers)
    c2 = {"consent": {"channels": {"phone": True}}}  # c2 may be called: the channel is askable
    client.put("/v1/customers/c2", json=c2, headers=headers)
    for qid, q in QUESTIONS.items():
        assert client.put(f"/v1/questions/{qid}", json=q, headers=headers).status_code == 201
    return headers


def _loc(r: object) -> list[object]:
    body = r.json()  # type: ignore[attr-defined]
    return [e["loc"] for e in body["errors"]]


def test_contacts_round_trip_idempotent_and_paged(client: TestClient, h: dict[str, str]) -> None:
    base = {"channel": "phone", "direction": "outbound", "outcome": "reached"}
    for i in range(3):
        body = {**base, "contact_id": f"k{i}", "timestamp": f"2026-01-0{i + 1}T10:00:00Z"}
        assert client.post("/v1/customers/c1/contacts", json=body, headers=h).status_code == 201
    again = client.post(
        "/v1/customers/c1/contacts", json={**base, "contact_id": "k0", "note": "x"}, headers=h
    )
    assert again.status_code == 200 and again.json()["note"] is None
    page = client.get("/v1/customers/c1/contacts?limit=2", headers=h).json()
    assert [c["contact_id"] for c in page["contacts"]] == ["k2", "k1"]
    assert page["contacts"][0]["timestamp"] == "2026-01-03T10:00:00Z"
    rest = client.get(f"/v1/customers/c1/contacts?cursor={page['next_cursor']}", headers=h).json()
    assert [c["contact_id"] for c in rest["contacts"]] == ["k0"] and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"channel": "pigeon", "direction": "inbound"}, ["body", "channel"]),
        ({"channel": "phone", "direction": "sideways"}, ["body", "direction"]),
        ({"channel": "phone", "direction": "inbound", "outcome": "meh"}, ["body", "outcome"]),
        ({"channel": "phone", "direction": "inbound", "note": "é" * 2049}, ["body", "note"]),
        ({"channel": "phone", "direction": "inbound", "timestamp": "soon"}, ["body", "timestamp"]),
        ({"channel": "phone", "direction": "inbound", "extra": 1}, ["body", "extra"]),
    ],
)
def test_bad_contacts_name_the_field(
    client: TestClient, h: dict[str, str], body: dict[str, object], loc: list[object]
) -> None:
    r = client.post("/v1/customers/c1/contacts", json=body, headers=h)
    assert r.status_code == 422 and loc in _loc(r)


def test_contact_refusals(client: TestClient, h: dict[str, str], auth: KeyMaker) -> None:
    body = {"channel": "email", "direction": "inbound", "contact_id": "shared"}
    assert client.post("/v1/customers/c1/contacts", json=body, headers=h).status_code == 201
    r = client.post("/v1/customers/c2/contacts", json=body, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "contact_id"]]
    assert client.post("/v1/customers/nobody/contacts", json=body, headers=h).status_code == 404
    other = auth("other-shop")
    assert client.get("/v1/customers/c1/contacts", headers=other).status_code == 404
    assert client.get("/v1/customers/c1/contacts?cursor=zz!", headers=h).status_code == 422
    assert client.get("/v1/customers/c1/contacts?limit=5000", headers=h).status_code == 422
    no_scope = auth("shop", "events")
    assert client.get("/v1/customers/c1/contacts", headers=no_scope).status_code == 403


def test_cases_open_resolve_and_refuse(client: TestClient, h: dict[str, str]) -> None:
    case = {"case_id": "s1", "kind": "complaint", "category": "fit", "severity": 4}
    r = client.post("/v1/customers/c1/cases", json=case, headers=h)
    assert r.status_code == 201 and r.json()["status"] == "open"
    assert client.post("/v1/customers/c1/cases", json=case, headers=h).status_code == 200
    done = client.patch(
        "/v1/customers/c1/cases/s1",
        json={
            "status": "resolved",
            "resolution": "refit",
            "compensation": 25,
            "contacts_to_resolve": 1,
        },
        headers=h,
    )
    assert done.status_code == 200 and done.json()["resolved_at"] is not None
    listed = client.get("/v1/customers/c1/cases", headers=h).json()
    assert [c["status"] for c in listed["cases"]] == ["resolved"]
    theirs = client.patch("/v1/customers/c2/cases/s1", json={"status": "open"}, headers=h)
    assert theirs.status_code == 422 and _loc(theirs) == [["path", "case_id"]]
    assert (
        client.patch("/v1/customers/c1/cases/zz", json={"status": "open"}, headers=h).status_code
        == 404
    )
    for bad, loc in [
        ({**case, "kind": "rant"}, ["body", "kind"]),
        ({**case, "severity": 9}, ["body", "severity"]),
        ({**case, "severity": "4"}, ["body", "severity"]),
        ({**case, "case_id": "s2", "configuration_id": "nope"}, ["body", "configuration_id"]),
    ]:
        r = client.post("/v1/customers/c1/cases", json=bad, headers=h)
        assert r.status_code == 422 and loc in _loc(r), bad
    r = client.patch("/v1/customers/c1/cases/s1", json={"compensation": -1}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "compensation"]]


def test_questions_answers_and_facts(client: TestClient, h: dict[str, str], auth: KeyMaker) -> None:
    bank = client.get("/v1/questions", headers=h).json()["questions"]
    assert [q["question_id"] for q in bank] == ["budget", "reach", "size"]
    not_admin = auth("shop", "customers")
    assert (
        client.put("/v1/questions/x", json=QUESTIONS["size"], headers=not_admin).status_code == 403
    )
    r = client.put("/v1/questions/x", json={**QUESTIONS["size"], "options": None}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "options"]]
    r = client.post(
        "/v1/customers/c1/answers", json={"question_id": "size", "value": "XL"}, headers=h
    )
    assert r.status_code == 422 and _loc(r) == [["body", "value"]]
    r = client.post(
        "/v1/customers/c1/answers", json={"question_id": "budget", "value": True}, headers=h
    )
    assert r.status_code == 422
    r = client.post("/v1/customers/c1/answers", json={"question_id": "nope", "value": 1}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "question_id"]]
    ok = client.post(
        "/v1/customers/c1/answers",
        json={
            "question_id": "size",
            "value": "M",
            "channel": "phone",
            "timestamp": "2026-02-01T09:00:00Z",
        },
        headers=h,
    )
    assert ok.status_code == 201 and ok.json()["attribute"] == "size"
    facts = client.get("/v1/customers/c1", headers=h).json()["facts"]
    assert facts == [
        {
            "question_id": "size",
            "question": "Size?",
            "attribute": "size",
            "value": "M",
            "channel": "phone",
            "timestamp": "2026-02-01T09:00:00Z",
        }
    ]
    asked = client.get("/v1/customers/c1/next-questions?n=5", headers=h).json()["questions"]
    assert "size" not in [q["question_id"] for q in asked] and all(q["why"] for q in asked)
    # never reached (no contact): the channel question first
    first = client.get("/v1/customers/c2/next-questions?n=1", headers=h).json()["questions"]
    assert [(q["question_id"], q["options"]) for q in first] == [("reach", ["phone"])]
    assert client.get("/v1/customers/c2/next-questions?n=9", headers=h).status_code == 422
    assert client.delete("/v1/questions/size", headers=h).status_code == 204
    assert client.delete("/v1/questions/size", headers=h).status_code == 404
    # the fact stays, its question gone
    assert client.get("/v1/customers/c1", headers=h).json()["facts"][0]["question"] is None


def test_another_tenants_customer_is_unknown_everywhere(
    client: TestClient, h: dict[str, str], auth: KeyMaker
) -> None:
    """Every dialogue route of another tenant's customer answers 404, and writes nothing."""
    other = auth("other")
    contact = {"channel": "phone", "direction": "inbound"}
    case = {"kind": "complaint", "category": "fit", "severity": 2}
    answer = {"question_id": "size", "value": "M"}
    for method, path, body in [
        ("post", "/v1/customers/c1/contacts", contact),
        ("post", "/v1/customers/c1/cases", case),
        ("post", "/v1/customers/c1/answers", answer),
        ("get", "/v1/customers/c1/next-questions", None),
        ("get", "/v1/customers/c1/cases", None),
        ("post", "/v1/customers/c1/merge", {"from": ["c2"]}),
    ]:
        r = client.request(method, path, json=body, headers=other)
        assert r.status_code == 404, (path, r.text)
    assert client.get("/v1/customers/c1/contacts", headers=h).json()["contacts"] == []
    assert client.get("/v1/customers/c1/cases", headers=h).json()["cases"] == []


def test_a_refused_merge_writes_nothing(client: TestClient, h: dict[str, str]) -> None:
    """One bad source among good ones: 4xx naming it, and every source is still its own."""
    client.post(
        "/v1/customers/c2/contacts", json={"channel": "sms", "direction": "inbound"}, headers=h
    )
    r = client.post("/v1/customers/c1/merge", json={"from": ["c2", "c1"]}, headers=h)
    assert r.status_code == 422 and _loc(r) == [["body", "from", 1]]
    assert client.get("/v1/customers/c2", headers=h).json()["customer_id"] == "c2"
    assert len(client.get("/v1/customers/c2/contacts", headers=h).json()["contacts"]) == 1
    assert client.get("/v1/customers/c1/export", headers=h).json()["aliases"] == []
