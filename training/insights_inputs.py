"""What an insights run reads besides the events: the dialogue's records (contacts for the cost
to serve, declared wallets, open complaints) and the previous run's share-of-customer KPI, whose
change and recent runs the new summary carries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dialogue.facts import declared, open_complaints
from store.base import Store

#: The profile fact an answer states a wallet in (money a year; the question bank's ``wallet``).
WALLET_FACT = "wallet"


@dataclass(slots=True)
class DialogueInputs:
    """What the dialogue records give a job run: contacts before ``as_of`` per customer (cost
    to serve), declared wallets (the latest answer to a question filling ``wallet``, money a
    year) and open complaints (``recover``)."""

    contacts: dict[str, float]
    wallets: dict[str, float]
    complaints: dict[str, list[dict[str, Any]]]


def dialogue_inputs(store: Store, tenant: str, as_of: float) -> DialogueInputs:
    """The tenant's contacts, declared wallets and open complaints, in one pass over each."""
    contacts: dict[str, float] = {}
    for cid, contact in store.iter_contacts(tenant):
        if float(contact.get("timestamp") or 0.0) < as_of:
            contacts[cid] = contacts.get(cid, 0.0) + 1.0
    answers: dict[str, list[dict[str, Any]]] = {}
    for cid, answer in store.iter_answers(tenant):
        answers.setdefault(cid, []).append(answer)
    wallets = {}
    for cid, theirs in answers.items():
        amount = declared(theirs, WALLET_FACT)
        if isinstance(amount, int | float) and not isinstance(amount, bool) and amount > 0:
            wallets[cid] = float(amount)
    cases: dict[str, list[dict[str, Any]]] = {}
    for cid, case in store.iter_cases(tenant):
        cases.setdefault(cid, []).append(case)
    complaints = {cid: found for cid, c in cases.items() if (found := open_complaints(c))}
    return DialogueInputs(contacts, wallets, complaints)


#: How many runs of the share-of-customer KPI the summary keeps (the console charts them).
KPI_RUNS_KEPT = 24


def with_change(
    kpi: dict[str, Any],
    before: dict[str, Any] | None,
    before_at: str | None,
    now_at: str | None = None,
) -> dict[str, Any]:
    """The KPI with its change since the previous run (None at the first run) and ``runs``,
    the headline figures of the last :data:`KPI_RUNS_KEPT` runs, oldest first, this one last.

    >>> first = with_change({"share_of_wallet": 0.2, "gap": 80.0}, None, None, "t1")
    >>> first["change"], [r["share_of_wallet"] for r in first["runs"]]
    (None, [0.2])
    >>> second = with_change({"share_of_wallet": 0.25, "gap": 75.0}, first, "t1", "t2")
    >>> round(second["change"]["share_of_wallet"], 2), [r["computed_at"] for r in second["runs"]]
    (0.05, ['t1', 't2'])
    """
    earlier = list((before or {}).get("runs") or [])
    if before and not earlier:  # a summary written before runs were kept: its own figures
        earlier = [_run_point(before, before_at)]
    runs = [*earlier, _run_point(kpi, now_at)][-KPI_RUNS_KEPT:]
    if not before:
        return {**kpi, "previous_computed_at": None, "change": None, "runs": runs}
    keys = ("share_of_wallet", "products_per_customer", "categories_per_customer", "gap")

    def delta(key: str) -> float | None:
        now, then = kpi.get(key), before.get(key)
        return None if now is None or then is None else float(now) - float(then)

    return {
        **kpi,
        "previous_computed_at": before_at,
        "change": {k: delta(k) for k in keys},
        "runs": runs,
    }


def _run_point(kpi: dict[str, Any], at: str | None) -> dict[str, Any]:
    """One run's headline figures of the KPI."""
    keys = ("share_of_wallet", "spend", "wallet", "gap", "customers")
    return {"computed_at": at, **{k: kpi.get(k) for k in keys}}
