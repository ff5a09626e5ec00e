"""Account managers: the portfolios (``GET /v1/account-managers``), the settings (the tenant's
cap on a portfolio) and one manager's worklist, ordered by what to do first, over
:class:`dialogue.managers.AccountManagers`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import AccountManagersDep, AdminKey, CustomersKey
from api.routing import StrictJSONRoute
from api.schemas.common import Identifier
from api.schemas.dialogue import (
    ManagerList,
    ManagerPublic,
    ManagerSettings,
    WorklistEntry,
    WorklistPage,
)
from api.schemas.insights import Action, ManagedCustomerInsights, Stage, Tier

router = APIRouter(
    prefix="/v1/account-managers",
    tags=["customers"],
    route_class=StrictJSONRoute,
)


@router.get("", response_model=ManagerList)
def list_managers(key: CustomersKey, managers: AccountManagersDep) -> ManagerList:
    """Every manager with portfolio size, value at stake, contacts overdue and open
    complaints; a warning when a portfolio exceeds the tenant's cap."""
    cap = managers.settings(key.tenant)["portfolio_cap"]
    return ManagerList(
        portfolio_cap=cap,
        managers=[ManagerPublic.of(p) for p in managers.portfolios(key.tenant)],
    )


@router.get("/settings", response_model=ManagerSettings)
def get_settings(key: CustomersKey, managers: AccountManagersDep) -> ManagerSettings:
    """The tenant's account-manager settings."""
    return ManagerSettings.model_validate(managers.settings(key.tenant))


@router.put("/settings", response_model=ManagerSettings)
def put_settings(
    body: ManagerSettings, key: AdminKey, managers: AccountManagersDep
) -> ManagerSettings:
    """Set the tenant's cap on a manager's portfolio (admin)."""
    return ManagerSettings.model_validate(managers.put_settings(key.tenant, body.model_dump()))


@router.get("/{manager_id}/customers", response_model=WorklistPage)
def managed_customers(
    manager_id: Identifier,
    key: CustomersKey,
    managers: AccountManagersDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    questions: Annotated[int, Query(ge=0, le=2, description="questions per customer")] = 2,
    tier: Annotated[Tier | None, Query()] = None,
    lifecycle_stage: Annotated[Stage | None, Query()] = None,
    action: Annotated[Action | None, Query(description="the next best action")] = None,
    needs_segment: Annotated[str | None, Query(max_length=64)] = None,
    order: Annotated[
        Literal["action", "wallet_gap"],
        Query(
            description="action (default): what to do first first; wallet_gap: the money left "
            "in the customer's wallet (wallet minus annual spend), largest first"
        ),
    ] = "action",
) -> WorklistPage:
    """The manager's customers, what to do first first (the money at stake of the next best
    action, then churn risk, then CLV; customers without insights last), each with tier, churn
    risk, next best action, the next contact due and the one or two questions to ask. A customer
    the latest contact settled (it reached them in the last 7 days, or set a next contact date
    still ahead; never with an open complaint) waits behind the others. The filters keep the
    customers whose insights row matches every one given."""
    filters = {
        "tier": tier,
        "lifecycle_stage": lifecycle_stage,
        "action": action,
        "needs_segment": needs_segment,
    }
    items, next_cursor = managers.worklist(
        key.tenant,
        manager_id,
        limit=limit,
        cursor=cursor,
        questions=questions,
        filters=filters,
        order=order,
    )
    return WorklistPage(
        manager_id=manager_id,
        customers=[
            WorklistEntry.of(ManagedCustomerInsights.of_row(i.customer_id, i.row), i) for i in items
        ],
        next_cursor=next_cursor,
    )
