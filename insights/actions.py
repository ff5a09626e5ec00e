"""Next best action per customer, with its reason and a priority for the account manager's list.

Rules (first match wins); ``priority`` is the money at stake over the horizon, so sorting by it
descending answers "what to do first":

0. **recover** — an open complaint (a service case of kind ``complaint`` not resolved), whatever
   the tier: put it right first. Priority: the value at risk, the customer's CLV if still active
   (CLV / P(alive)). Cases change between job runs, so :func:`recover_action` is applied when a
   row is read and when the job or a refresh writes it.

1. **retain** — declining and valuable: an MVC, or a customer whose CLV *if still active*
   (CLV / P(alive)) reaches the MVC threshold. Priority: that CLV x churn risk (value at risk).
2. **self_service** — BZ (cost to serve above value), or declining without enough value to retain:
   move to low-cost channels. Priority 0.
3. **cross_sell** — MGC, or a standard customer still exploring or forming: grow them, with the top
   recommendations when a recommender is given. Priority: unrealised value (peer potential - CLV).
4. **upgrade** — MVC and standard customers in a stable relationship: offer a configured bundle or
   an upgrade. Priority: CLV x ``upgrade_uplift``.

Examples
--------
>>> a = next_best_action("c1", "MVC", "decline", clv=500.0, p_alive=0.4, churn_risk=0.7,
...                      headroom=0.0, net_value=480.0, mvc_clv=300.0, upgrade_uplift=0.1)
>>> a["action"], round(a["priority"], 1)
('retain', 875.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

ACTIONS: tuple[str, ...] = ("recover", "retain", "cross_sell", "upgrade", "self_service")

Recommender = Callable[[str], Sequence[str]]


def next_best_action(
    customer_id: str,
    tier: str,
    stage: str,
    *,
    clv: float,
    p_alive: float,
    churn_risk: float,
    headroom: float,
    net_value: float,
    mvc_clv: float,
    upgrade_uplift: float,
    recommend: Recommender | None = None,
    n_items: int = 3,
) -> dict[str, Any]:
    """The action for one customer as ``{"action", "reason", "priority", "items"?}``."""
    clv_if_active = clv / max(p_alive, 1e-6)
    if stage == "decline" and (tier == "MVC" or clv_if_active >= mvc_clv > 0):
        return {
            "action": "retain",
            "reason": (
                f"valuable customer declining: worth {clv_if_active:.2f} if active, "
                f"churn risk {churn_risk:.0%}"
            ),
            "priority": float(clv_if_active * churn_risk),
        }
    if tier == "BZ" or stage == "decline":
        why = (
            f"expected value {clv:.2f} is below the cost to serve ({net_value:.2f} net)"
            if tier == "BZ"
            else f"declining (churn risk {churn_risk:.0%}) with modest value {clv:.2f}"
        )
        return {
            "action": "self_service",
            "reason": why + ": serve through low-cost channels",
            "priority": 0.0,
        }
    if tier == "MGC" or (tier == "standard" and stage in ("exploration", "formation")):
        why = (
            f"growable: {max(headroom, 0.0):.2f} more value than now is realised by similar customers"
            if tier == "MGC"
            else f"relationship in {stage}: build it with relevant offers"
        )
        action: dict[str, Any] = {
            "action": "cross_sell",
            "reason": why,
            "priority": float(max(headroom, 0.0)),
        }
        if recommend is not None:
            action["items"] = list(recommend(customer_id))[:n_items]
        return action
    return {
        "action": "upgrade",
        "reason": (
            "most valuable customer, stable: offer a configured bundle or upgrade"
            if tier == "MVC"
            else "stable relationship: offer a configured bundle or upgrade"
        ),
        "priority": float(clv * upgrade_uplift),
    }


def value_at_risk(row: Mapping[str, Any]) -> float:
    """What losing the customer would cost over the horizon: their CLV if still active."""
    clv = float(row.get("clv") or 0.0)
    p_alive = row.get("p_alive")
    return max(clv, 0.0) / max(float(p_alive if p_alive is not None else 1.0), 1e-6)


def recover_action(
    row: Mapping[str, Any], complaints: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The ``recover`` action of a customer with open complaints (None without any); its
    priority is the value at risk, at least that of the row's own action.

    >>> row = {"clv": 90.0, "p_alive": 0.5, "next_best_action": {"priority": 20.0}}
    >>> a = recover_action(row, [{"case_id": "k1", "category": "fit", "severity": 4}])
    >>> a["action"], a["priority"], a["cases"]
    ('recover', 180.0, ['k1'])
    >>> recover_action(row, []) is None
    True
    """
    if not complaints:
        return None
    worst = max(complaints, key=lambda c: int(c.get("severity") or 0))
    at_risk = value_at_risk(row)
    displaced = (row.get("next_best_action") or {}).get("priority")
    more = f" and {len(complaints) - 1} more" if len(complaints) > 1 else ""
    return {
        "action": "recover",
        "reason": (
            f"open complaint about {worst.get('category') or 'the service'} "
            f"(severity {worst.get('severity')}){more}: put it right first, "
            f"{at_risk:.2f} of value at risk"
        ),
        "priority": max(float(at_risk), float(displaced or 0.0)),
        "cases": [str(c["case_id"]) for c in complaints],
    }


def order_for_action(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort insights rows by next-best-action priority (money at stake), highest first.

    Ties (e.g. all self-service at 0) are broken by churn risk, then CLV, then customer id.
    """
    return sorted(
        rows,
        key=lambda r: (
            -r["next_best_action"]["priority"],
            -r["churn_risk"],
            -r["clv"],
            r["customer_id"],
        ),
    )
