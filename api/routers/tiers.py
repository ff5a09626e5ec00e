"""Tier perks over HTTP: the tenant's policy (admin) and a customer's entitlements, over
:class:`insights.service.InsightsService` (:mod:`insights.entitlements` has the rules)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminKey, CustomersKey, InsightsDep
from api.routing import StrictJSONRoute
from api.schemas.common import Identifier
from api.schemas.tiers import EntitlementsPublic, TierPolicyPublic
from insights.entitlements import TierPolicy

router = APIRouter(tags=["insights"], route_class=StrictJSONRoute)


@router.get("/v1/tiers/policy", response_model=TierPolicyPublic, summary="The perks per tier")
def get_tier_policy(key: AdminKey, insights: InsightsDep) -> TierPolicyPublic:
    """The tenant's perks per tier and the policy's version (0: never set, no perks)."""
    return TierPolicyPublic.model_validate(insights.tier_policy(key.tenant))


@router.put("/v1/tiers/policy", response_model=TierPolicyPublic, summary="Set the perks per tier")
def put_tier_policy(body: TierPolicy, key: AdminKey, insights: InsightsDep) -> TierPolicyPublic:
    """Replace the policy (a new version). A perk kind that does not exist, a tier that does
    not exist, a discount outside (0, 1), a priority lead time under one day or a perk id
    listed twice answer 422 naming the field."""
    return TierPolicyPublic.model_validate(insights.set_tier_policy(key.tenant, body))


@router.get(
    "/v1/customers/{customer_id}/entitlements",
    response_model=EntitlementsPublic,
    summary="The perks a customer has, and what would earn each one withheld",
)
def entitlements(
    customer_id: Identifier, key: CustomersKey, insights: InsightsDep
) -> EntitlementsPublic:
    """Perks granted by the customer's tier (and the tiers below it on the ladder BZ <
    standard = MGC < MVC) and, for each withheld perk, the cheapest reachable route to the tier
    that grants it: more purchases of the usual size, or one purchase of an amount, within the
    shortest window that has one (never more than 3x the customer's own pace; never a spend of
    0.00). 404 for an unknown customer or before the tenant's first insights run."""
    return EntitlementsPublic.model_validate(insights.entitlements(key.tenant, customer_id))
