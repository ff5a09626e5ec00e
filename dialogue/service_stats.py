"""The service report: what customers complain about and how fast and well it is fixed.

Cases per day and category, and by customer tier: how many opened and resolved, the
first-contact resolution rate (resolved cases that took one contact, of the resolved cases that
say how many contacts they took) and the time to resolve (median and mean, in hours).

Examples
--------
>>> day = 86400.0
>>> cases = [("a", {"category": "fit", "opened_at": 0.0, "status": "resolved",
...                 "resolved_at": 3600.0, "contacts_to_resolve": 1}),
...          ("b", {"category": "fit", "opened_at": day, "status": "open"})]
>>> report = service_report(cases, {"a": "MVC"})
>>> report["overall"]["first_contact_resolution_rate"], report["overall"]["median_hours_to_resolve"]
(1.0, 1.0)
>>> [(d["date"], d["opened"], d["resolved"]) for d in report["per_day"]]
[('1970-01-01', 1, 1), ('1970-01-02', 1, 0)]
>>> sorted(report["by_tier"])
['MVC', 'standard']
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).date().isoformat()


def _figures(cases: list[dict[str, Any]]) -> dict[str, Any]:
    resolved = [c for c in cases if c.get("status") == "resolved" and c.get("resolved_at")]
    counted = [c for c in resolved if c.get("contacts_to_resolve")]
    hours = [(c["resolved_at"] - c["opened_at"]) / 3600.0 for c in resolved]
    return {
        "cases": len(cases),
        "open": len(cases) - len(resolved),
        "resolved": len(resolved),
        "complaints": sum(1 for c in cases if c.get("kind") == "complaint"),
        "first_contact_resolution_rate": (
            round(sum(1 for c in counted if c["contacts_to_resolve"] == 1) / len(counted), 4)
            if counted
            else None
        ),
        "median_hours_to_resolve": round(statistics.median(hours), 2) if hours else None,
        "mean_hours_to_resolve": round(statistics.fmean(hours), 2) if hours else None,
    }


def service_report(
    cases: Iterable[tuple[str, dict[str, Any]]],
    tiers: dict[str, str],
    since: float | None = None,
    until: float | None = None,
) -> dict[str, Any]:
    """The report over the cases opened in ``[since, until)``; ``tiers`` maps customers to their
    tier (``standard`` when unknown)."""
    chosen = [
        (cid, c)
        for cid, c in cases
        if (since is None or c["opened_at"] >= since) and (until is None or c["opened_at"] < until)
    ]
    days: dict[tuple[str, str], dict[str, int]] = {}
    for _, c in chosen:
        category = c.get("category") or "other"
        opened = days.setdefault((_day(c["opened_at"]), category), {"opened": 0, "resolved": 0})
        opened["opened"] += 1
        if c.get("status") == "resolved" and c.get("resolved_at"):
            done = days.setdefault((_day(c["resolved_at"]), category), {"opened": 0, "resolved": 0})
            done["resolved"] += 1
    by_tier: dict[str, list[dict[str, Any]]] = {}
    for cid, c in chosen:
        by_tier.setdefault(tiers.get(cid) or "standard", []).append(c)
    by_category: dict[str, list[dict[str, Any]]] = {}
    for _, c in chosen:
        by_category.setdefault(c.get("category") or "other", []).append(c)
    return {
        "per_day": [
            {"date": d, "category": cat, **counts} for (d, cat), counts in sorted(days.items())
        ],
        "by_tier": {t: _figures(cs) for t, cs in sorted(by_tier.items())},
        "by_category": {k: _figures(cs) for k, cs in sorted(by_category.items())},
        "overall": _figures([c for _, c in chosen]),
    }
