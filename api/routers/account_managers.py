"""An account manager's customers, ordered by what to do first."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CustomersKey, StoreDep
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.customers import ManagedCustomer, ManagedCustomerList

router = APIRouter(prefix="/v1/account-managers", tags=["customers"], responses=PROBLEM_RESPONSES)


@router.get("/{manager_id}/customers", response_model=ManagedCustomerList)
def managed_customers(
    manager_id: Identifier, key: CustomersKey, store: StoreDep
) -> ManagedCustomerList:
    """Each customer with tier, churn risk and next best action; highest priority first.

    Priority comes from the insights job (``next_best_action.priority``); customers without
    insights yet come last, in id order.
    """
    rows = []
    for customer in store.customers_of_manager(key.tenant, manager_id):
        ins = store.get_insights_row(key.tenant, customer.customer_id) or {}
        nba = ins.get("next_best_action")
        priority = nba.get("priority") if isinstance(nba, dict) else None
        rows.append(
            ManagedCustomer(
                customer_id=customer.customer_id,
                tier=ins.get("tier"),
                churn_risk=ins.get("churn_risk"),
                clv=ins.get("clv"),
                lifecycle_stage=ins.get("lifecycle_stage"),
                next_best_action=nba,
                priority=priority,
            )
        )
    rows.sort(key=lambda r: (r.priority is None, -(r.priority or 0.0), r.customer_id))
    return ManagedCustomerList(manager_id=manager_id, customers=rows)
