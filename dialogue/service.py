"""The dialogue as one service: contacts, cases, the question bank and answers, without HTTP.

Every call names a customer the tenant knows (a profile or an event), or one of its aliases:
an alias stands for the customer it was merged into. The documents stored are those of
:mod:`dialogue`; inputs come validated field by field from the edge, and this service checks
what needs the store (an id held by another customer, an answer of the wrong kind).

Examples
--------
>>> import pathlib, tempfile
>>> from core.records import Customer
>>> from store import open_store
>>> store = open_store("embedded", sqlite_path=pathlib.Path(tempfile.mkdtemp()) / "s.sqlite3")
>>> _ = store.put_customer("shop", Customer("c1"))
>>> dialogue = DialogueService(store)
>>> created, contact = dialogue.add_contact("shop", "c1", {"contact_id": "k1", "channel": "phone"})
>>> created, dialogue.add_contact("shop", "c1", {"contact_id": "k1", "channel": "email"})[0]
(True, False)
>>> [c["channel"] for c in dialogue.list_contacts("shop", "c1", limit=10).rows]
['phone']
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from core.errors import InvalidInput, NotFound
from dialogue.paging import Page, decode_cursor, page_of
from dialogue.questions import Choice, Situation, check_answer, check_question, choose
from dialogue.service_stats import service_report
from store import Store

#: Contact outcomes that mean the customer was reached.
REACHED = frozenset({"reached", "sale", "declined", "resolved", "follow_up"})

_CONTACT_FIELDS = (
    "channel",
    "direction",
    "account_manager",
    "topic",
    "outcome",
    "note",
    "next_contact_at",
)
_CASE_FIELDS = ("kind", "category", "item_id", "configuration_id", "severity", "description")
_CASE_UPDATES = ("status", "resolution", "compensation", "contacts_to_resolve", "resolved_at")


def _invalid(loc: list[str], msg: str) -> InvalidInput:
    return InvalidInput(msg, [{"loc": loc, "msg": msg}])


class DialogueService:
    """Contacts, cases, questions and answers of a tenant's customers; raises domain errors."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- customers ------------------------------------------------------------------------------
    def resolve(self, tenant: str, customer_id: str) -> str:
        """The id the customer's records are kept under (an alias's merged customer); NotFound
        when the tenant knows no such customer."""
        cid = self.store.resolve_customers(tenant, [customer_id]).get(customer_id, customer_id)
        if not self.store.customer_known(tenant, cid):
            raise NotFound(f"customer '{customer_id}' not found")
        return cid

    # -- contacts -------------------------------------------------------------------------------
    def add_contact(
        self, tenant: str, customer_id: str, contact: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """Record a contact; ``(created, stored contact)``. Sending a ``contact_id`` again is a
        no-op answering the stored one; one held by another customer is a 422 on it."""
        cid = self.resolve(tenant, customer_id)
        now = time.time()
        doc = {
            "contact_id": contact.get("contact_id") or uuid.uuid4().hex,
            **{f: contact.get(f) for f in _CONTACT_FIELDS},
            "timestamp": contact.get("timestamp") or now,
            "recorded_at": now,
        }
        held = self.store.add_contact(tenant, cid, doc)
        if held is None:
            return True, doc
        if held != cid:
            raise _invalid(["body", "contact_id"], "this contact_id is another customer's")
        stored = next(
            c for c in self.store.list_contacts(tenant, cid) if c["contact_id"] == doc["contact_id"]
        )
        return False, stored

    def list_contacts(
        self, tenant: str, customer_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """The customer's contacts, newest first, one page."""
        cid = self.resolve(tenant, customer_id)
        offset = decode_cursor(cursor)
        rows = self.store.list_contacts(tenant, cid, offset=offset, limit=limit + 1)
        return page_of(rows, offset, limit)

    # -- cases ----------------------------------------------------------------------------------
    def open_case(
        self, tenant: str, customer_id: str, case: dict[str, Any]
    ) -> tuple[bool, dict[str, Any]]:
        """Open a service case; ``(created, case)``. A ``case_id`` already held answers the
        stored case (idempotent) or, when another customer's, a 422 on it."""
        cid = self.resolve(tenant, customer_id)
        case_id = case.get("case_id") or uuid.uuid4().hex
        held = self.store.get_case(tenant, case_id)
        if held is not None:
            if held[0] != cid:
                raise _invalid(["body", "case_id"], "this case_id is another customer's")
            return False, held[1]
        config = case.get("configuration_id")
        if config and config not in {
            c["configuration_id"] for c in self.store.list_configurations(tenant, cid)
        }:
            raise _invalid(
                ["body", "configuration_id"], "no saved configuration of this customer has this id"
            )
        doc = {
            "case_id": case_id,
            **{f: case.get(f) for f in _CASE_FIELDS},
            "opened_at": case.get("opened_at") or time.time(),
            "status": "open",
            "resolution": None,
            "compensation": None,
            "contacts_to_resolve": None,
            "resolved_at": None,
        }
        self.store.put_case(tenant, cid, doc)
        return True, doc

    def update_case(
        self, tenant: str, customer_id: str, case_id: str, update: dict[str, Any]
    ) -> dict[str, Any]:
        """Apply the fields sent (status, resolution, compensation, contacts, resolved_at).

        Resolving stamps ``resolved_at`` (now unless given); re-opening clears it. A case of
        another customer is a 422 on ``case_id``; an unknown one a 404.
        """
        cid = self.resolve(tenant, customer_id)
        held = self.store.get_case(tenant, case_id)
        if held is None:
            raise NotFound(f"case '{case_id}' not found")
        if held[0] != cid:
            raise _invalid(["path", "case_id"], "this case is another customer's")
        doc = {**held[1], **{f: update[f] for f in _CASE_UPDATES if f in update}}
        if doc["status"] == "resolved":
            doc["resolved_at"] = doc.get("resolved_at") or time.time()
            if doc["resolved_at"] < doc["opened_at"]:
                raise _invalid(["body", "resolved_at"], "a case is resolved after it opened")
        elif "resolved_at" not in update:
            doc["resolved_at"] = None
        self.store.put_case(tenant, cid, doc)
        return doc

    def list_cases(
        self, tenant: str, customer_id: str, *, limit: int = 50, cursor: str | None = None
    ) -> Page:
        """The customer's cases, newest first, one page."""
        cid = self.resolve(tenant, customer_id)
        offset = decode_cursor(cursor)
        rows = self.store.list_cases(tenant, cid, offset=offset, limit=limit + 1)
        return page_of(rows, offset, limit)

    # -- questions ------------------------------------------------------------------------------
    def put_question(self, tenant: str, question_id: str, question: dict[str, Any]) -> bool:
        """Create or replace a question of the bank; True when created."""
        check_question(question)
        return self.store.put_question(tenant, question_id, question)

    def questions(self, tenant: str) -> dict[str, dict[str, Any]]:
        """The tenant's question bank, by id."""
        return self.store.list_questions(tenant)

    def delete_question(self, tenant: str, question_id: str) -> None:
        """Remove a question (answers already given stay facts); NotFound when absent."""
        if not self.store.delete_question(tenant, question_id):
            raise NotFound(f"question '{question_id}' not found")

    def ensure_bank(self, tenant: str, bank: dict[str, dict[str, Any]]) -> int:
        """Add the questions of ``bank`` the tenant lacks (a default bank); how many were added."""
        held = self.store.list_questions(tenant)
        added = 0
        for qid, question in bank.items():
            if qid not in held:
                self.put_question(tenant, qid, question)
                added += 1
        return added

    # -- answers --------------------------------------------------------------------------------
    def answer(self, tenant: str, customer_id: str, answer: dict[str, Any]) -> dict[str, Any]:
        """Store an answer as a dated fact; 422 on ``question_id`` (unknown) or ``value``
        (of the wrong kind for the question)."""
        cid = self.resolve(tenant, customer_id)
        question = self.store.list_questions(tenant).get(answer["question_id"])
        if question is None:
            raise _invalid(["body", "question_id"], "no question of this tenant has this id")
        doc = {
            "question_id": answer["question_id"],
            "attribute": question["attribute"],
            "value": check_answer(question, answer.get("value")),
            "channel": answer.get("channel"),
            "timestamp": answer.get("timestamp") or time.time(),
        }
        self.store.put_answer(tenant, cid, doc)
        return doc

    def facts(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's answers, newest first, each with its question's text (if still asked)."""
        cid = self.store.resolve_customers(tenant, [customer_id]).get(customer_id, customer_id)
        bank = self.store.list_questions(tenant)
        return [
            {**a, "question": bank.get(a["question_id"], {}).get("text")}
            for a in self.store.list_answers(tenant, cid)
        ]

    def situation(self, tenant: str, cid: str) -> Situation:
        """What the choice of questions looks at (see :meth:`situations`)."""
        return self.situations(tenant, [cid])[cid]

    def situations(
        self,
        tenant: str,
        ids: Sequence[str],
        rows: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, Situation]:
        """What the choice of questions looks at, for each of ``ids`` (records' ids, not
        aliases): tier and stage (insights, or ``rows`` when the caller holds them), growth
        room, made-to-measure buying, whether the customer was ever reached, purchases, and
        the channels the customer consents to. The contacts and configure events of all of
        them are read at once (a worklist page asks for fifty customers)."""
        rows = self.store.get_insights_rows(tenant, list(ids)) if rows is None else rows
        contacts = self.store.contacts_of(tenant, ids)
        # Only configure events are read (the store filters by type), not the whole history.
        configured = set(self.store.customers_events_frame(tenant, ids, ["configure"]).customer_id)
        found = {}
        for cid in ids:
            row = rows.get(cid) or {}
            tier = row.get("tier") or "standard"
            profile = self.store.get_customer(tenant, cid)
            consent = profile.consent_channels if profile is not None else {}
            found[cid] = Situation(
                tier=tier,
                lifecycle_stage=row.get("lifecycle_stage"),
                growable=tier == "MGC" or bool(row.get("next_tier")),
                made_to_measure=cid in configured
                or bool(self.store.list_configurations(tenant, cid)),
                reached=any(c.get("outcome") in REACHED for c in contacts.get(cid, ())),
                buyer=any(self.store.customer_items(tenant, cid).purchased),
                consented=frozenset(ch for ch, given in consent.items() if given is True),
            )
        return found

    def next_questions(self, tenant: str, customer_id: str, n: int = 2) -> list[Choice]:
        """At most ``n`` questions the customer has not answered, the most useful first."""
        cid = self.resolve(tenant, customer_id)
        return self.next_questions_of(tenant, [cid], n)[cid]

    def next_questions_of(
        self,
        tenant: str,
        ids: Sequence[str],
        n: int = 2,
        rows: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> dict[str, list[Choice]]:
        """:meth:`next_questions` of several known customers (a worklist page), the question
        bank and the bulk reads shared (``rows``: their insights rows, when held)."""
        bank = self.store.list_questions(tenant)
        situations = self.situations(tenant, ids, rows)
        return {
            cid: choose(
                bank,
                {a["question_id"] for a in self.store.list_answers(tenant, cid)},
                situations[cid],
                n,
            )
            for cid in ids
        }

    # -- the service report ---------------------------------------------------------------------
    def service_report(
        self, tenant: str, since: float | None = None, until: float | None = None
    ) -> dict[str, Any]:
        """Cases per day and category, first-contact resolution and time to resolve, by tier
        (see :func:`dialogue.service_stats.service_report`)."""
        cases = list(self.store.iter_cases(tenant))
        tiers = {}
        for cid in {c for c, _ in cases}:
            row = self.store.get_insights_row(tenant, cid) or {}
            tiers[cid] = row.get("tier") or "standard"
        return service_report(cases, tiers, since, until)
