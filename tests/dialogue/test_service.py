"""The dialogue service on small fixtures whose right answer is obvious."""

from __future__ import annotations

import pytest

from core.errors import InvalidInput, NotFound
from core.records import Customer, Event
from dialogue import DialogueService, declared, open_complaints
from dialogue.questions import APPAREL_BANK
from store.base import Store

BANK = {
    "budget": {"text": "Budget?", "kind": "number", "attribute": "wallet", "decides": "wallet"},
    "size": {
        "text": "Size?",
        "kind": "choice",
        "options": ["S", "M", "L"],
        "attribute": "size",
        "decides": "size",
    },
    "channel": {
        "text": "How to reach you?",
        "kind": "choice",
        "options": ["email", "phone"],
        "attribute": "preferred_channel",
        "decides": "channel",
    },
    "mvc-only": {
        "text": "Concierge?",
        "kind": "text",
        "attribute": "concierge",
        "applies_to": {"tier": ["MVC"]},
        "weight": 10,
    },
}


@pytest.fixture
def dialogue(store: Store) -> DialogueService:
    service = DialogueService(store)
    for qid, q in BANK.items():
        service.put_question("t", qid, q)
    for cid in ("growable", "tailor", "reached-tailor"):
        store.put_customer("t", Customer(cid))
    store.put_customer("t", Customer("stranger", consent_channels={"email": True}))
    store.put_insights_rows("t", {"growable": {"tier": "MGC", "lifecycle_stage": "formation"}})
    for cid in ("tailor", "reached-tailor"):
        store.add_events("t", [Event(f"{cid}-c", cid, "configure", 1.0, item_id="shirt")], [1.0])
    for cid in ("growable", "tailor", "reached-tailor"):
        service.add_contact("t", cid, {"channel": "phone", "outcome": "reached"})
    return service


def _ids(service: DialogueService, cid: str, n: int = 2) -> list[str]:
    return [c.question_id for c in service.next_questions("t", cid, n)]


def test_next_questions_prefer_the_answer_that_changes_a_decision(
    dialogue: DialogueService,
) -> None:
    assert _ids(dialogue, "growable", 1) == ["budget"]  # an MGC customer: the wallet
    assert _ids(dialogue, "tailor", 1) == ["size"]  # a made-to-measure buyer: the size
    assert _ids(dialogue, "stranger", 1) == ["channel"]  # never reached: the channel
    assert "mvc-only" not in _ids(dialogue, "growable", 10)  # not for this tier
    why = dialogue.next_questions("t", "tailor", 1)[0].why
    assert "configurator" in why
    # an answered question is never asked again; the next one comes up
    dialogue.answer("t", "tailor", {"question_id": "size", "value": "M"})
    assert "size" not in _ids(dialogue, "tailor", 10)
    assert _ids(dialogue, "tailor", 0) == []


def test_a_channel_question_offers_only_consented_channels(
    dialogue: DialogueService, store: Store
) -> None:
    (asked,) = dialogue.next_questions("t", "stranger", 1)
    assert asked.question_id == "channel" and asked.question["options"] == ["email"]
    store.put_customer("t", Customer("stranger", consent_channels={"email": False, "sms": True}))
    # no consented channel among the options: the question is not asked at all
    assert "channel" not in _ids(dialogue, "stranger", 10)
    store.put_customer("t", Customer("stranger", consent_channels={"phone": True, "email": True}))
    assert dialogue.next_questions("t", "stranger", 1)[0].question["options"] == ["email", "phone"]
    assert BANK["channel"]["options"] == ["email", "phone"]  # the bank itself is unchanged


def test_answers_are_dated_facts_of_the_right_kind(dialogue: DialogueService) -> None:
    fact = dialogue.answer("t", "growable", {"question_id": "budget", "value": 1200.0})
    assert fact["attribute"] == "wallet" and fact["timestamp"] > 0
    facts = dialogue.facts("t", "growable")
    assert [(f["question"], f["value"]) for f in facts] == [("Budget?", 1200.0)]
    assert declared(facts, "wallet") == 1200.0
    for qid, value in [("budget", "lots"), ("budget", True), ("size", "XXL"), ("size", 3)]:
        with pytest.raises(InvalidInput) as bad:
            dialogue.answer("t", "growable", {"question_id": qid, "value": value})
        assert bad.value.errors[0]["loc"] == ["body", "value"]
    with pytest.raises(InvalidInput) as unknown:
        dialogue.answer("t", "growable", {"question_id": "nope", "value": 1})
    assert unknown.value.errors[0]["loc"] == ["body", "question_id"]
    with pytest.raises(NotFound):
        dialogue.answer("t", "nobody", {"question_id": "budget", "value": 1})


def test_contacts_idempotent_and_paged(dialogue: DialogueService) -> None:
    for i in range(5):
        created, _ = dialogue.add_contact(
            "t", "stranger", {"contact_id": f"k{i}", "channel": "email", "timestamp": 10.0 + i}
        )
        assert created
    again, stored = dialogue.add_contact("t", "stranger", {"contact_id": "k1", "channel": "sms"})
    assert not again and stored["channel"] == "email"
    with pytest.raises(InvalidInput) as held:
        dialogue.add_contact("t", "tailor", {"contact_id": "k1", "channel": "sms"})
    assert held.value.errors[0]["loc"] == ["body", "contact_id"]
    first = dialogue.list_contacts("t", "stranger", limit=2)
    assert [c["contact_id"] for c in first.rows] == ["k4", "k3"] and first.next_cursor
    second = dialogue.list_contacts("t", "stranger", limit=2, cursor=first.next_cursor)
    third = dialogue.list_contacts("t", "stranger", limit=2, cursor=second.next_cursor)
    assert [c["contact_id"] for c in second.rows + third.rows] == ["k2", "k1", "k0"]
    assert third.next_cursor is None
    with pytest.raises(InvalidInput):
        dialogue.list_contacts("t", "stranger", cursor="garbage!")


def test_cases_open_update_and_ownership(dialogue: DialogueService) -> None:
    created, case = dialogue.open_case(
        "t", "tailor", {"case_id": "s1", "kind": "complaint", "category": "fit", "severity": 4}
    )
    assert created and case["status"] == "open"
    assert open_complaints([case]) == [case]
    done = dialogue.update_case(
        "t", "tailor", "s1", {"status": "resolved", "contacts_to_resolve": 1, "compensation": 20}
    )
    assert done["resolved_at"] >= done["opened_at"] and open_complaints([done]) == []
    with pytest.raises(InvalidInput) as theirs:
        dialogue.update_case("t", "stranger", "s1", {"status": "open"})
    assert theirs.value.errors[0]["loc"] == ["path", "case_id"]
    with pytest.raises(NotFound):
        dialogue.update_case("t", "tailor", "nope", {"status": "open"})
    with pytest.raises(InvalidInput) as cfg:
        dialogue.open_case("t", "tailor", {"kind": "repair", "configuration_id": "not-theirs"})
    assert cfg.value.errors[0]["loc"] == ["body", "configuration_id"]
    assert [c["case_id"] for c in dialogue.list_cases("t", "tailor").rows] == ["s1"]


def test_question_bank_checks_and_default_bank(store: Store) -> None:
    service = DialogueService(store)
    with pytest.raises(InvalidInput):
        service.put_question("t", "q", {"text": "?", "kind": "choice", "attribute": "a"})
    with pytest.raises(InvalidInput):
        service.put_question(
            "t", "q", {"text": "?", "kind": "number", "attribute": "a", "options": ["1"]}
        )
    assert service.ensure_bank("t", APPAREL_BANK) == len(APPAREL_BANK)
    assert service.ensure_bank("t", APPAREL_BANK) == 0
    service.delete_question("t", "occasion")
    with pytest.raises(NotFound):
        service.delete_question("t", "occasion")
