"""The demo tenant's side of the dialogue: consent per channel, the apparel question bank,
contacts by the account managers and inbound ones, a few complaints (some resolved in one
contact, some after several, some still open), answers to some questions (others left to ask),
and two customers who shopped under a second id and were merged.

Deterministic for a seed and an end date, like :mod:`demo.generator`, and drawn from its own
random stream, so the shop's events are the same with or without it.

Examples
--------
>>> from datetime import UTC, datetime
>>> from demo.generator import generate
>>> shop = generate(seed=7, n_customers=40, end=datetime(2026, 1, 1, tzinfo=UTC))
>>> consented = with_consent(shop.customers, seed=7)
>>> sum(c.consent_channels["email"] for c in consented) > 10
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from core.records import Customer, Event
from customers.service import CustomerService
from dialogue.questions import APPAREL_BANK
from dialogue.service import DialogueService
from events.ingest import Listeners, ingest
from store.base import Store

DAY = 86400.0

#: The customers known under a second id (a web account before they signed in at the shop):
#: ``(second id, the customer it is merged into)``.
SECOND_IDS = (("web-guest-0001", "cust-00003"), ("web-guest-0002", "cust-00010"))

_TOPICS = ("new season preview", "fitting appointment", "reorder", "trade terms", "care advice")
_NOTES = {
    "reached": "Talked through the new denim weights; will come by for a fitting.",
    "sale": "Ordered two pairs in the usual fit, rinse and black.",
    "no_answer": "Voicemail; left a message.",
    "follow_up": "Wants samples of the selvedge first; call back after they arrive.",
    "declined": "Happy with what they have for now.",
}
#: ``(category, description, contacts it took: 0 still open, resolution, compensation)``.
_COMPLAINTS = (
    ("fit", "Waist too tight after the first wash.", 1, "Remade one size up.", 0.0),
    ("delivery", "Parcel arrived four days late for a wedding.", 1, "Refunded shipping.", 9.5),
    ("quality", "Rivet came loose on the back pocket.", 3, "Repaired and returned.", 0.0),
    ("fit", "Inseam a full inch short.", 2, "Remade to the right length.", 20.0),
    ("delivery", "Wrong colour sent (black instead of rinse).", 0, None, None),
    ("quality", "Colour bled onto a white sofa.", 0, None, None),
)


@dataclass
class DemoDialogue:
    """What :func:`load_dialogue` wrote, for the log line and the tests."""

    contacts: int = 0
    cases: int = 0
    answers: int = 0
    merged: int = 0


def with_consent(customers: list[Customer], seed: int) -> list[Customer]:
    """The customers with consent per channel: most to email, trade accounts to the phone
    (their manager calls), a few to sms and post."""
    rng = np.random.default_rng([seed, 12])
    out = []
    for c in customers:
        trade = c.attributes.get("segment") == "trade"
        draws = rng.random(4)
        channels = {
            "email": bool(draws[0] < 0.7),
            "phone": bool(draws[1] < (0.9 if trade else 0.3)),
            "sms": bool(draws[2] < 0.2),
            "post": bool(draws[3] < 0.1),
        }
        out.append(replace(c, consent_channels=channels))
    return out


def second_id_events(end: datetime) -> list[Event]:
    """A few views and a purchase under each second id (before the merge)."""
    t1 = end.timestamp()
    events = []
    for n, (alias, _) in enumerate(SECOND_IDS):
        t = t1 - (40 + 10 * n) * DAY
        for k, (typ, item, value) in enumerate(
            [
                ("view", "jeans-slim-rinse", None),
                ("view", "harness-leather-belt-brown", None),
                ("purchase", "jeans-slim-rinse", 98.0),
            ]
        ):
            events.append(Event(f"{alias}-{k}", alias, typ, t + k * 600, item_id=item, value=value))
    return events


def load_dialogue(
    store: Store, tenant: str, customers: list[Customer], end: datetime
) -> DemoDialogue:
    """Write the demo dialogue for ``customers`` (the shop's, already stored) ending at ``end``."""
    rng = np.random.default_rng([int(end.timestamp()) % 97, 5])
    t1 = end.timestamp()
    dialogue = DialogueService(store)
    dialogue.ensure_bank(tenant, APPAREL_BANK)
    done = DemoDialogue()
    done.contacts = _contacts(dialogue, tenant, customers, t1, rng)
    done.cases = _cases(dialogue, tenant, customers, t1)
    done.answers = _answers(dialogue, tenant, customers, t1, rng)
    done.merged = _merge(store, tenant, end)
    return done


def _contacts(
    dialogue: DialogueService,
    tenant: str,
    customers: list[Customer],
    t1: float,
    rng: np.random.Generator,
) -> int:
    """Managers' calls and emails to their trade accounts (some with a next contact date, a
    few of them overdue), and inbound questions from some retail customers."""
    count = 0
    for c in customers:
        manager = c.account_manager
        if manager is not None:
            channel = "phone" if c.consent_channels.get("phone") else "email"
            for k in range(int(rng.integers(1, 4))):
                outcome = str(rng.choice(list(_NOTES)))
                ts = t1 - float(rng.uniform(5, 300)) * DAY
                due = ts + float(rng.uniform(20, 90)) * DAY if outcome == "follow_up" else None
                dialogue.add_contact(
                    tenant,
                    c.customer_id,
                    {
                        "contact_id": f"demo-{c.customer_id}-{k}",
                        "channel": channel,
                        "direction": "outbound",
                        "account_manager": manager,
                        "topic": str(rng.choice(_TOPICS)),
                        "outcome": outcome,
                        "note": _NOTES[outcome],
                        "timestamp": ts,
                        "next_contact_at": due,
                    },
                )
                count += 1
        elif rng.random() < 0.04:
            dialogue.add_contact(
                tenant,
                c.customer_id,
                {
                    "contact_id": f"demo-{c.customer_id}-in",
                    "channel": "chat",
                    "direction": "inbound",
                    "topic": "sizing question",
                    "outcome": "resolved",
                    "note": "Asked how the slim fit runs; suggested measuring a favourite pair.",
                    "timestamp": t1 - float(rng.uniform(1, 200)) * DAY,
                },
            )
            count += 1
    return count


def _cases(dialogue: DialogueService, tenant: str, customers: list[Customer], t1: float) -> int:
    """The complaints of :data:`_COMPLAINTS`, one customer each (every 7th), and one repair."""
    for n, (category, text, contacts, resolution, money) in enumerate(_COMPLAINTS):
        cid = customers[(7 * n + 4) % len(customers)].customer_id
        opened = t1 - (60 - 9 * n) * DAY
        case_id = f"demo-case-{n + 1}"
        dialogue.open_case(
            tenant,
            cid,
            {
                "case_id": case_id,
                "kind": "complaint",
                "category": category,
                "severity": 2 + n % 3,
                "description": text,
                "opened_at": opened,
            },
        )
        if contacts:
            update = {
                "status": "resolved",
                "resolution": resolution,
                "compensation": money,
                "contacts_to_resolve": contacts,
                "resolved_at": opened + contacts * 2 * DAY,
            }
            dialogue.update_case(tenant, cid, case_id, update)
    repair = {
        "case_id": "demo-case-repair",
        "kind": "repair",
        "category": "hem",
        "severity": 1,
        "description": "Re-hem after shrinkage.",
        "opened_at": t1 - 20 * DAY,
    }
    dialogue.open_case(tenant, customers[1].customer_id, repair)
    return len(_COMPLAINTS) + 1


def _answers(
    dialogue: DialogueService,
    tenant: str,
    customers: list[Customer],
    t1: float,
    rng: np.random.Generator,
) -> int:
    """One customer in six answered one or two of the questions (the rest are still to ask)."""
    count = 0
    for c in customers:
        if rng.random() >= 1 / 6:
            continue
        consented = [ch for ch, given in c.consent_channels.items() if given]
        values = {
            "fit": str(rng.choice(["slim", "regular", "relaxed"])),
            "waist": float(rng.integers(28, 41)),
            "favourite-category": str(rng.choice(APPAREL_BANK["favourite-category"]["options"])),
            "wardrobe-budget": float(rng.integers(3, 30) * 100),
        }
        if consented:
            values["preferred-channel"] = str(rng.choice(consented))
        asked = rng.choice(sorted(values), size=int(rng.integers(1, 3)), replace=False)
        for qid in sorted(asked):
            fact = {
                "question_id": qid,
                "value": values[qid],
                "timestamp": t1 - float(rng.uniform(1, 120)) * DAY,
            }
            dialogue.answer(tenant, c.customer_id, fact)
            count += 1
    return count


def _merge(store: Store, tenant: str, end: datetime) -> int:
    """The second ids' events stored, then each merged into its customer."""
    ingest(store, tenant, second_id_events(end))
    customers = CustomerService(store, Listeners())
    for alias, into in SECOND_IDS:
        if store.customer_known(tenant, into):
            customers.merge(tenant, into, [alias])
    return len(SECOND_IDS)
