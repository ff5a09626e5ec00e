"""The dialogue's storage contract on both backends: contacts, cases, questions, answers."""

from __future__ import annotations

from store.base import Store


def _contact(cid: str, ts: float, **kw: object) -> dict[str, object]:
    return {"contact_id": cid, "timestamp": ts, "channel": "phone", **kw}


def test_contacts_idempotent_newest_first_and_paged(store: Store) -> None:
    assert store.add_contact("t", "c1", _contact("k1", 10.0)) is None
    assert store.add_contact("t", "c1", _contact("k2", 30.0)) is None
    assert store.add_contact("t", "c1", _contact("k3", 20.0)) is None
    # the same id again is a no-op that names who holds it, under any customer
    assert store.add_contact("t", "c1", _contact("k1", 99.0, note="again")) == "c1"
    assert store.add_contact("t", "c2", _contact("k1", 99.0)) == "c1"
    assert [c["contact_id"] for c in store.list_contacts("t", "c1")] == ["k2", "k3", "k1"]
    assert store.list_contacts("t", "c1")[2] == _contact("k1", 10.0)
    assert [c["contact_id"] for c in store.list_contacts("t", "c1", offset=1, limit=1)] == ["k3"]
    assert store.list_contacts("t", "c1", offset=3, limit=5) == []
    assert store.list_contacts("t", "c2") == []
    assert store.list_contacts("other", "c1") == []
    assert sorted((c, d["contact_id"]) for c, d in store.iter_contacts("t")) == [
        ("c1", "k1"),
        ("c1", "k2"),
        ("c1", "k3"),
    ]
    assert list(store.iter_contacts("other")) == []


def test_cases_upsert_owner_and_listing(store: Store) -> None:
    case = {"case_id": "s1", "opened_at": 5.0, "kind": "complaint", "status": "open"}
    assert store.put_case("t", "c1", case) is True
    assert store.put_case("t", "c1", {**case, "status": "resolved"}) is False
    assert store.put_case("t", "c1", {"case_id": "s2", "opened_at": 7.0, "kind": "return"})
    assert store.get_case("t", "s1") == ("c1", {**case, "status": "resolved"})
    assert store.get_case("t", "nope") is None
    assert store.get_case("other", "s1") is None
    assert [c["case_id"] for c in store.list_cases("t", "c1")] == ["s2", "s1"]
    assert [c["case_id"] for c in store.list_cases("t", "c1", limit=1)] == ["s2"]
    assert sorted(d["case_id"] for _, d in store.iter_cases("t")) == ["s1", "s2"]


def test_question_bank(store: Store) -> None:
    q = {"text": "Your size?", "kind": "choice", "options": ["S", "M"], "attribute": "size"}
    assert store.put_question("t", "size", q) is True
    assert store.put_question("t", "size", {**q, "text": "Size?"}) is False
    assert store.put_question("t", "fit", {**q, "attribute": "fit"}) is True
    assert list(store.list_questions("t")) == ["fit", "size"]
    assert store.list_questions("t")["size"]["text"] == "Size?"
    assert store.list_questions("other") == {}
    assert store.delete_question("t", "size") is True
    assert store.delete_question("t", "size") is False
    assert list(store.list_questions("t")) == ["fit"]


def test_answers_latest_per_question(store: Store) -> None:
    store.put_answer("t", "c1", {"question_id": "size", "value": "M", "timestamp": 1.0})
    store.put_answer("t", "c1", {"question_id": "fit", "value": "slim", "timestamp": 3.0})
    store.put_answer("t", "c1", {"question_id": "size", "value": "L", "timestamp": 2.0})
    assert [(a["question_id"], a["value"]) for a in store.list_answers("t", "c1")] == [
        ("fit", "slim"),
        ("size", "L"),
    ]
    assert store.list_answers("t", "c2") == []
    assert sorted((c, a["value"]) for c, a in store.iter_answers("t")) == [
        ("c1", "L"),
        ("c1", "slim"),
    ]


def test_an_answer_moves_the_customers_serving_version(store: Store) -> None:
    before = store.serving_versions("t", "c1").customer
    store.put_answer(
        "t", "c1", {"question_id": "cat", "attribute": "x", "value": 1, "timestamp": 1.0}
    )
    after = store.serving_versions("t", "c1").customer
    assert after > before and store.serving_versions("t", "c2").customer != after


def test_contacts_and_cases_of_several_customers_at_once(store: Store) -> None:
    for cid, ts in [("c1", 10.0), ("c1", 30.0), ("c1", 20.0), ("c2", 5.0)]:
        store.add_contact("t", cid, _contact(f"{cid}-{ts:g}", ts))
    store.put_case("t", "c2", {"case_id": "s1", "opened_at": 1.0, "kind": "complaint"})
    store.put_case("t", "c2", {"case_id": "s2", "opened_at": 2.0, "kind": "return"})
    latest = store.contacts_of("t", ["c1", "c2", "c3", "c1"], limit=1)
    assert {c: [d["contact_id"] for d in docs] for c, docs in latest.items()} == {
        "c1": ["c1-30"],
        "c2": ["c2-5"],
    }
    every = store.contacts_of("t", ["c1"])
    assert [d["contact_id"] for d in every["c1"]] == [
        d["contact_id"] for d in store.list_contacts("t", "c1")
    ]
    assert store.contacts_of("t", ["c1"], limit=0) == {}
    assert store.contacts_of("other", ["c1"]) == {} and store.contacts_of("t", []) == {}
    cases = store.cases_of("t", ["c1", "c2"])
    assert list(cases) == ["c2"] and [d["case_id"] for d in cases["c2"]] == ["s2", "s1"]
    many = [f"m{k}" for k in range(1200)]  # more than one chunk of customers
    for k in (0, 700, 1199):
        store.add_contact("t", many[k], _contact(f"m-{k}", float(k)))
    assert sorted(store.contacts_of("t", many, limit=1)) == ["m0", "m1199", "m700"]
