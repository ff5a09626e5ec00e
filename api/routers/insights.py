"""Customer intelligence over HTTP: each customer's value, tier and next step; Pareto;
segments; the fitted models (:class:`insights.service.InsightsService` does the work).

``horizon_days`` recomputes ``clv`` and ``predicted_purchases`` for that horizon from the row's
state (same parameters, same as_of); the tier and actions stay those of the configured horizon.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.deps import AdminKey, CustomersKey, InsightsDep
from api.openapi import errors
from api.routing import StrictJSONRoute
from api.schemas.common import Identifier
from api.schemas.insights import (
    Action,
    AudiencePublic,
    Channel,
    CustomerInsightsPublic,
    InsightsHistoryPublic,
    ParetoPublic,
    RetentionPublic,
    SegmentsByPublic,
    SegmentsPublic,
    ShareOfCustomerPublic,
    Stage,
    Tier,
    ValueModelPublic,
    ValueSettingsPublic,
)
from core.errors import InvalidInput, NotFound
from insights.config import ValueConfig

router = APIRouter(tags=["insights"], route_class=StrictJSONRoute)


HorizonDays = Annotated[
    float | None,
    Query(
        ge=1,
        le=3650,
        allow_inf_nan=False,
        description="horizon of clv and predicted_purchases in days (default: the tenant's "
        "configured horizon, the one tiers are decided on)",
    ),
]


@router.get(
    "/v1/customers/{customer_id}/insights",
    response_model=CustomerInsightsPublic,
    summary="A customer's value, tier, lifecycle and next best action",
)
async def customer_insights(
    customer_id: Identifier,
    key: CustomersKey,
    insights: InsightsDep,
    horizon_days: HorizonDays = None,
) -> CustomerInsightsPublic:
    """The customer's insights from the last job run, refreshed by every purchase since.

    404 when the customer is unknown or when no job ran for the tenant (run `atelier insights`).
    A known customer without purchases gets `status: "no_purchases"`, tier `standard`,
    lifecycle `exploration`, null figures and what the first purchases must be for MVC.
    """
    row = insights.customer_row(key.tenant, customer_id, horizon_days)
    return CustomerInsightsPublic.model_validate(row)


@router.get(
    "/v1/customers/{customer_id}/insights/history",
    response_model=InsightsHistoryPublic,
    summary="The customer's insights at each past job run (tier and stage migrations)",
)
async def customer_insights_history(
    customer_id: Identifier, key: CustomersKey, insights: InsightsDep
) -> InsightsHistoryPublic:
    """One entry per job run that scored the customer, oldest first; refreshes between runs
    change the current row only. 404 when the customer is unknown."""
    runs = insights.history(key.tenant, customer_id)
    return InsightsHistoryPublic.model_validate({"customer_id": customer_id, "runs": runs})


@router.get(
    "/v1/insights/pareto",
    responses=errors(404),  # no insights run for the tenant yet
    response_model=ParetoPublic,
    summary="Revenue concentration curve and the top 20% customers' share",
)
async def pareto(key: CustomersKey, insights: InsightsDep) -> ParetoPublic:
    """Customers ranked by net revenue before the last job's as_of (refreshes do not move it)."""
    s = insights.summary(key.tenant)
    return ParetoPublic.model_validate(
        {**s["pareto"], "as_of": s["as_of"], "computed_at": s["computed_at"]}
    )


SegmentBy = Annotated[
    str | None,
    Query(
        pattern=r"^(tier|lifecycle|needs|attribute:[A-Za-z0-9_.\-]{1,64})$",
        description="tier, lifecycle, needs (learned from what customers buy) or "
        "attribute:NAME (a profile attribute); omitted: by tier and by lifecycle at once",
    ),
]


@router.get(
    "/v1/insights/segments",
    responses=errors(404),  # no insights run for the tenant yet
    response_model=SegmentsPublic | SegmentsByPublic,
    summary="Customers, revenue and CLV per segment: tier, lifecycle, needs or an attribute",
)
async def segments(
    key: CustomersKey, insights: InsightsDep, by: SegmentBy = None
) -> SegmentsPublic | SegmentsByPublic:
    """As of the last job run (refreshes of single customers do not move the counts). Needs
    segments carry their label and their customers per tier (value crossed with needs)."""
    s = insights.summary(key.tenant)
    stamp = {"as_of": s["as_of"], "computed_at": s["computed_at"]}
    if by is None:
        return SegmentsPublic.model_validate({**s["segments"], **stamp})
    groups = insights.segments_by(key.tenant, by)
    return SegmentsByPublic.model_validate({"by": by, "segments": groups, **stamp})


@router.get(
    "/v1/insights/retention",
    responses=errors(404),  # no insights run for the tenant yet
    response_model=RetentionPublic,
    summary="Cohorts, churn, reactivations and MVC value lost per month or quarter",
)
async def retention(
    key: CustomersKey,
    insights: InsightsDep,
    period: Annotated[Literal["month", "quarter"], Query()] = "month",
) -> RetentionPublic:
    """Purchases before the last job's as_of, by calendar period; the acquisition cost is the
    tenant's (insights config) set against the margin kept from retained customers."""
    s = insights.summary(key.tenant)
    report = (s.get("retention") or {}).get(period)
    if report is None:
        raise NotFound("the last insights run has no retention report: run `atelier insights`")
    return RetentionPublic.model_validate(
        {**report, "as_of": s["as_of"], "computed_at": s["computed_at"]}
    )


@router.get(
    "/v1/insights/share-of-customer",
    responses=errors(404),  # no insights run for the tenant yet
    response_model=ShareOfCustomerPublic,
    summary="Share of wallet by tier, products and categories per customer, change since the last run",
)
async def share_of_customer(key: CustomersKey, insights: InsightsDep) -> ShareOfCustomerPublic:
    """The tenant's share-of-customer KPI from the last job run."""
    s = insights.summary(key.tenant)
    kpi = s.get("share_of_customer")
    if not kpi:
        raise NotFound("the last insights run has no share of customer: run `atelier insights`")
    return ShareOfCustomerPublic.model_validate(
        {**kpi, "as_of": s["as_of"], "computed_at": s["computed_at"]}
    )


@router.get(
    "/v1/insights/model",
    responses=errors(404),  # no insights run for the tenant yet
    response_model=ValueModelPublic,
    summary="The fitted customer-value models",
)
async def value_model(key: CustomersKey, insights: InsightsDep) -> ValueModelPublic:
    """Parameters, log-likelihood, number of customers and calibration period of the last run."""
    s = insights.summary(key.tenant)
    return ValueModelPublic.model_validate(
        {
            **s["model"],
            "horizon_days": s["state"]["config"]["horizon_days"],
            "as_of": s["as_of"],
            "computed_at": s["computed_at"],
        }
    )


@router.get(
    "/v1/insights/config",
    response_model=ValueSettingsPublic,
    summary="The tenant's value settings (margin, costs, discount rate, tier shares)",
)
async def get_value_config(key: AdminKey, insights: InsightsDep) -> ValueSettingsPublic:
    """The settings every value figure of the next job run uses, and their version."""
    return ValueSettingsPublic.model_validate(insights.value_config(key.tenant))


@router.put(
    "/v1/insights/config",
    response_model=ValueSettingsPublic,
    summary="Set the tenant's value settings (a new version)",
)
def put_value_config(
    body: ValueConfig, key: AdminKey, insights: InsightsDep
) -> ValueSettingsPublic:
    """The whole configuration (fields left out take their documented defaults); refused with
    422 naming the field when a cost is negative, the margin is outside (0, 1] or the tier
    shares leave no room for standard customers. Applies from the next job run."""
    return ValueSettingsPublic.model_validate(insights.set_value_config(key.tenant, body))


def _cursor(text: str | None) -> str | None:
    """The customer id an opaque cursor stands for (422 naming the field when it is not one)."""
    if text is None:
        return None
    try:
        raw = (text + "=" * (-len(text) % 4)).encode("ascii")
        decoded = base64.b64decode(raw, altchars=b"-_", validate=True).decode("utf-8")
        if not decoded:
            raise ValueError("empty cursor")
        return decoded
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidInput(
            "cursor is not one this API gave",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid"}],
        ) from None


@router.get(
    "/v1/insights/customers",
    responses=errors(404),  # no insights run for the tenant yet
    response_model=AudiencePublic,
    summary="An audience: customers by tier, stage, action, needs segment and channel (paged)",
)
async def audience(
    key: CustomersKey,
    insights: InsightsDep,
    tier: Annotated[Tier | None, Query()] = None,
    lifecycle_stage: Annotated[Stage | None, Query()] = None,
    action: Annotated[Action | None, Query()] = None,
    needs_segment: Annotated[str | None, Query(max_length=64)] = None,
    channel: Annotated[Channel | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> AudiencePublic:
    """With ``channel``, only customers whose consent allows it (a campaign's target list),
    each action then sent through it. Rows of the last job run, refreshed since."""
    filters = {
        "tier": tier,
        "lifecycle_stage": lifecycle_stage,
        "action": action,
        "needs_segment": needs_segment,
        "channel": channel,
    }
    rows, last = insights.audience(key.tenant, filters, _cursor(cursor), limit)
    nxt = base64.urlsafe_b64encode(last.encode()).decode().rstrip("=") if last else None
    return AudiencePublic.model_validate({"customers": rows, "next_cursor": nxt})
