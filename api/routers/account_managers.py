"""An account manager's customers, ordered by what to do first."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CustomersKey, InsightsDep
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.insights import ManagedCustomerInsights, ManagedCustomerInsightsList

router = APIRouter(prefix="/v1/account-managers", tags=["customers"], responses=PROBLEM_RESPONSES)


@router.get("/{manager_id}/customers", response_model=ManagedCustomerInsightsList)
def managed_customers(
    manager_id: Identifier, key: CustomersKey, insights: InsightsDep
) -> ManagedCustomerInsightsList:
    """Each customer with tier, churn risk, CLV and next best action; what to do first, first.

    The order is :meth:`insights.service.InsightsService.manager_worklist`'s: the money at
    stake of the next best action (``priority``), then churn risk, then CLV, then id. Customers
    without insights yet (no purchase, or no job run) come last, in id order.
    """
    rows = insights.manager_worklist(key.tenant, manager_id)
    return ManagedCustomerInsightsList(
        manager_id=manager_id,
        customers=[ManagedCustomerInsights.of_row(cid, row) for cid, row in rows],
    )
