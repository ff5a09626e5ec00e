"""An account manager's customers, ordered by what to do first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CustomersKey, StoreDep
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.insights import ManagedCustomerInsights, ManagedCustomerInsightsList
from insights.actions import order_for_action

router = APIRouter(prefix="/v1/account-managers", tags=["customers"], responses=PROBLEM_RESPONSES)


def _managed(customer_id: str, row: dict[str, Any]) -> ManagedCustomerInsights:
    nba = row.get("next_best_action")
    return ManagedCustomerInsights(
        customer_id=customer_id,
        tier=row.get("tier"),
        churn_risk=row.get("churn_risk"),
        clv=row.get("clv"),
        lifecycle_stage=row.get("lifecycle_stage"),
        next_best_action=nba,
        priority=nba.get("priority") if isinstance(nba, dict) else None,
        p_alive=row.get("p_alive"),
        predicted_purchases=row.get("predicted_purchases"),
        next_tier=row.get("next_tier"),
        computed_at=row.get("computed_at"),
    )


@router.get("/{manager_id}/customers", response_model=ManagedCustomerInsightsList)
def managed_customers(
    manager_id: Identifier, key: CustomersKey, store: StoreDep
) -> ManagedCustomerInsightsList:
    """Each customer with tier, churn risk, CLV and next best action; what to do first, first.

    The order is the insights job's (:func:`insights.actions.order_for_action`): the money at
    stake of the next best action (``priority``), then churn risk, then CLV, then id. Customers
    without insights yet (no purchase, or no job run) come last, in id order.
    """
    scored: list[dict[str, Any]] = []
    unscored: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    for customer in store.customers_of_manager(key.tenant, manager_id):
        cid = customer.customer_id
        row = store.get_insights_row(key.tenant, cid) or {}
        rows[cid] = row
        nba = row.get("next_best_action")
        if isinstance(nba, dict) and nba.get("priority") is not None:
            scored.append(
                {
                    "customer_id": cid,
                    "next_best_action": {"priority": float(nba["priority"])},
                    "churn_risk": float(row.get("churn_risk") or 0.0),
                    "clv": float(row.get("clv") or 0.0),
                }
            )
        else:
            unscored.append(cid)
    order = [r["customer_id"] for r in order_for_action(scored)] + sorted(unscored)
    return ManagedCustomerInsightsList(
        manager_id=manager_id, customers=[_managed(cid, rows[cid]) for cid in order]
    )
