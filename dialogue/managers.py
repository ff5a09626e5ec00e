"""The account manager's working day: each manager's portfolio, and the worklist of one.

A portfolio is the customers whose profile names the manager. A worklist orders them by what to
do first: the insights order (money at stake of the next best action first), except that a
customer the manager has just dealt with waits behind the others until their next contact is
due (see :func:`handled_until`), so logging a contact moves the next customer up. A portfolio's
*value at stake* is the money of the next best actions waiting in it (each action's
``priority``, from the insights rows);
a contact is *overdue* when the customer's latest contact set a ``next_contact_at`` that has
passed (a later contact replaces it). The tenant's cap on a portfolio (``portfolio_cap`` in the
tenant's settings, 1,500 unless set: the seeds warn that a manager cannot know more customers
than that) earns a warning when exceeded.

Ordering a worklist reads the whole portfolio (profiles, insights rows, latest contacts, open
cases); a page shows fifty. So each worker keeps the ordered portfolio under the store's
``portfolio_version`` of the manager, which every write the order depends on moves: a page is
one version read, the time test that sends settled customers to the back, and the page's own
reads (questions, items to offer). A write on any worker shows in the next page on every one.

Examples
--------
>>> handled_until({"timestamp": 100.0, "outcome": "reached", "next_contact_at": None}, 0)
604900.0
>>> handled_until({"timestamp": 100.0, "outcome": "no_answer"}, 0) is None
True
>>> due_dates([("c1", {"timestamp": 1.0, "next_contact_at": 5.0}),
...            ("c1", {"timestamp": 2.0, "next_contact_at": None}),
...            ("c2", {"timestamp": 1.0, "next_contact_at": 9.0})])
{'c2': 9.0}
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidInput
from dialogue.facts import open_complaints
from dialogue.paging import decode_cursor, encode_cursor
from dialogue.service import DialogueService
from store import Store

#: A manager should know every customer of the portfolio; past this many nobody can.
DEFAULT_PORTFOLIO_CAP = 1500
#: The tenant-settings key holding the account managers' settings.
SETTINGS_KEY = "account_managers"

#: How long a contact that reached the customer, and set no next contact, keeps them handled.
HANDLED_SECONDS = 7 * 86400
#: Outcomes after which the customer is dealt with for now (``follow_up`` and ``no_answer`` are
#: not: somebody still has to act).
SETTLED = frozenset({"reached", "sale", "declined", "resolved"})

#: Ordered portfolios a worker keeps (the least recently used goes first).
CACHED_WORKLISTS = 256

Worklist = Callable[[str, str, dict[str, str | None], str], list[tuple[str, dict[str, Any]]]]


def due_dates(contacts: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, float]:
    """Customer -> the next contact date their latest contact set (none when it set none)."""
    latest: dict[str, dict[str, Any]] = {}
    for cid, contact in contacts:
        held = latest.get(cid)
        key = (contact["timestamp"], contact.get("contact_id", ""))
        if held is None or key > (held["timestamp"], held.get("contact_id", "")):
            latest[cid] = contact
    return {c: d["next_contact_at"] for c, d in latest.items() if d.get("next_contact_at")}


def handled_until(latest: dict[str, Any] | None, open_complaints: int) -> float | None:
    """Until when the customer's latest contact settles them (None: they need action now).

    A contact that set a next contact date settles the customer until then; one that reached
    them and set none, for :data:`HANDLED_SECONDS`. An open complaint is never settled."""
    if latest is None or open_complaints:
        return None
    due = latest.get("next_contact_at")
    if due:
        return float(due)
    if latest.get("outcome") in SETTLED:
        return float(latest["timestamp"]) + HANDLED_SECONDS
    return None


@dataclass(frozen=True, slots=True)
class Portfolio:
    """One manager's figures."""

    manager_id: str
    portfolio_size: int
    value_at_stake: float
    contacts_overdue: int
    open_complaints: int
    warning: str | None


@dataclass(frozen=True, slots=True)
class _Entry:
    """A worklist customer before paging: the row, what the ordering read, and until when the
    latest contact settles them (None: they need action)."""

    customer_id: str
    row: dict[str, Any]
    latest: dict[str, Any] | None
    complaints: int
    settled_until: float | None


@dataclass(slots=True)
class WorkItem:
    """One customer of a worklist: the insights row, what is due, what to ask."""

    customer_id: str
    row: dict[str, Any]
    next_contact_due: float | None
    overdue: bool
    open_complaints: int
    questions: list[dict[str, Any]] = field(default_factory=list)


class AccountManagers:
    """The managers' portfolios and worklists; the order of a worklist is ``worklist``'s (the
    insights service's: money at stake of the next best action first)."""

    def __init__(
        self,
        store: Store,
        dialogue: DialogueService,
        worklist: Worklist,
        finish: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.store = store
        self.dialogue = dialogue
        self.worklist_of = worklist
        #: ``(tenant, row) -> row`` for the rows of the page shown (the items to offer: too
        #: costly for a whole portfolio, so only for the page).
        self.finish = finish
        #: ``(tenant, manager, filters, order) -> (portfolio version, ordered entries)``
        self._ordered: OrderedDict[tuple[Any, ...], tuple[int, list[_Entry]]] = OrderedDict()
        self._lock = threading.Lock()

    def settings(self, tenant: str) -> dict[str, Any]:
        """The tenant's account-manager settings (``portfolio_cap``)."""
        held = self.store.get_tenant_config(tenant).get(SETTINGS_KEY) or {}
        return {"portfolio_cap": int(held.get("portfolio_cap", DEFAULT_PORTFOLIO_CAP))}

    def put_settings(self, tenant: str, settings: dict[str, Any]) -> dict[str, Any]:
        """Replace the tenant's account-manager settings (the rest of its settings kept)."""
        cap = settings.get("portfolio_cap")
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 1:
            raise InvalidInput(
                "bad portfolio cap",
                [{"loc": ["body", "portfolio_cap"], "msg": "must be a positive integer"}],
            )
        config = self.store.get_tenant_config(tenant)
        self.store.put_tenant_config(tenant, {**config, SETTINGS_KEY: {"portfolio_cap": cap}})
        return self.settings(tenant)

    def portfolios(self, tenant: str, now: float | None = None) -> list[Portfolio]:
        """Every manager with a customer, in id order."""
        now = time.time() if now is None else now
        cap = self.settings(tenant)["portfolio_cap"]
        members: dict[str, list[str]] = {}
        for customer in self.store.iter_customers(tenant):
            if customer.account_manager:
                members.setdefault(customer.account_manager, []).append(customer.customer_id)
        due = due_dates(self.store.iter_contacts(tenant))
        complaints: dict[str, int] = {}
        for cid, case in self.store.iter_cases(tenant):
            complaints[cid] = complaints.get(cid, 0) + len(open_complaints([case]))
        found = []
        for manager, ids in sorted(members.items()):
            stake = 0.0
            for cid in ids:
                nba = (self.store.get_insights_row(tenant, cid) or {}).get("next_best_action")
                if isinstance(nba, dict) and nba.get("priority") is not None:
                    stake += float(nba["priority"])
            warning = (
                f"{len(ids)} customers: more than the tenant's cap of {cap}, too many to know"
                " each of them"
                if len(ids) > cap
                else None
            )
            found.append(
                Portfolio(
                    manager_id=manager,
                    portfolio_size=len(ids),
                    value_at_stake=round(stake, 2),
                    contacts_overdue=sum(1 for c in ids if c in due and due[c] < now),
                    open_complaints=sum(complaints.get(c, 0) for c in ids),
                    warning=warning,
                )
            )
        return found

    def _portfolio(
        self, tenant: str, manager_id: str, filters: dict[str, str | None], order: str
    ) -> list[_Entry]:
        """The manager's customers in ``order``, each with what the time test needs: this
        worker's copy while the portfolio's version holds, else read again (and kept)."""
        key = (
            tenant,
            manager_id,
            tuple(sorted((k, v) for k, v in filters.items() if v is not None)),
            order,
        )
        # read before the portfolio: a write racing the reads leaves a copy already stale
        version = self.store.portfolio_version(tenant, manager_id)
        with self._lock:
            held = self._ordered.get(key)
            if held is not None and held[0] == version:
                self._ordered.move_to_end(key)
                return held[1]
        listed = self.worklist_of(tenant, manager_id, filters, order)
        ids = [cid for cid, _ in listed]
        # the whole portfolio's latest contacts and cases in a few reads, not two per customer
        latest_of = self.store.contacts_of(tenant, ids, limit=1)
        cases_of = self.store.cases_of(tenant, ids)
        entries = []
        for cid, row in listed:
            contacts = latest_of.get(cid)
            latest = contacts[0] if contacts else None
            complaints = len(open_complaints(cases_of.get(cid, [])))
            entries.append(_Entry(cid, row, latest, complaints, handled_until(latest, complaints)))
        with self._lock:
            self._ordered[key] = (version, entries)
            self._ordered.move_to_end(key)
            while len(self._ordered) > CACHED_WORKLISTS:
                self._ordered.popitem(last=False)
        return entries

    def worklist(
        self,
        tenant: str,
        manager_id: str,
        *,
        limit: int = 50,
        cursor: str | None = None,
        questions: int = 2,
        filters: dict[str, str | None] | None = None,
        now: float | None = None,
        order: str = "action",
    ) -> tuple[list[WorkItem], str | None]:
        """One page of the manager's customers, what to do first first (or by ``order``, e.g.
        ``wallet_gap``: the insights service's orders), each with the next
        contact due (and whether it is overdue), open complaints and the questions to ask;
        ``filters`` (tier, lifecycle_stage, action, needs_segment) narrow it, before paging.
        Customers settled by their latest contact (:func:`handled_until`) follow the others."""
        now = time.time() if now is None else now
        offset = decode_cursor(cursor)
        waiting: list[_Entry] = []
        settled: list[_Entry] = []
        for entry in self._portfolio(tenant, manager_id, filters or {}, order):
            until = entry.settled_until
            (settled if until is not None and until > now else waiting).append(entry)
        ordered = waiting + settled
        more = len(ordered) > offset + limit
        page = ordered[offset : offset + limit]
        asking = (
            self.dialogue.next_questions_of(
                tenant,
                [e.customer_id for e in page],
                questions,
                {e.customer_id: e.row for e in page},
            )
            if questions
            else {}
        )
        items = []
        for entry in page:
            cid = entry.customer_id
            latest = entry.latest
            due = latest.get("next_contact_at") if latest else None
            asked = asking.get(cid, [])
            items.append(
                WorkItem(
                    customer_id=cid,
                    row=entry.row if self.finish is None else self.finish(tenant, entry.row),
                    next_contact_due=due,
                    overdue=due is not None and due < now,
                    open_complaints=entry.complaints,
                    questions=[
                        {
                            "question_id": q.question_id,
                            "text": q.question["text"],
                            "kind": q.question["kind"],
                            "options": q.question.get("options"),
                            "why": q.why,
                        }
                        for q in asked
                    ],
                )
            )
        return items, encode_cursor(offset + limit) if more else None
