"""Tier perks and entitlements: the policy (``/v1/tiers/policy``) and one customer's answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from insights.entitlements import Perk, PerkKind, TierPerks

Tier = Literal["MVC", "MGC", "BZ", "standard"]


class TierPolicyPublic(BaseModel):
    """The tenant's perks per tier (version 0: never set, no perks)."""

    version: int
    tiers: dict[Tier, TierPerks]


class PerkPublic(Perk):
    tier: Tier = Field(description="the tier whose perk it is (and every tier above it)")


class RequirementPublic(BaseModel):
    """What would earn a withheld perk, in terms the customer can act on."""

    tier: Tier = Field(description="the tier to reach (an MGC perk is earned by reaching MVC)")
    reachable: bool = Field(
        description="false: no route within the horizon asks at most 3x the customer's own pace"
    )
    route: Literal["purchases", "spend", "first_purchase"] | None = Field(
        description="the cheapest reachable route: more purchases of the usual size, one "
        "purchase of an amount, or a first purchase"
    )
    purchases: int | None = Field(description="purchases that suffice (route purchases)")
    spend: float | None = Field(description="the one purchase's amount (route spend)")
    purchase_value: float | None = Field(
        description="the value of each purchase the route asks for (the usual size, or spend)"
    )
    within_days: int | None
    requirement: str = Field(description="the same, in words")


class WithheldPerkPublic(PerkPublic):
    requirement: RequirementPublic


class PerkEffectPublic(BaseModel):
    perk_id: str
    title: str
    kind: PerkKind
    value: float | None = None


class EffectsPublic(BaseModel):
    """What the granted perks change in the service (the configurator applies them)."""

    discount: float = Field(description="fraction off the configurator's price")
    lead_time_days_saved: int = Field(description="days off the configurator's lead time")
    applied: list[PerkEffectPublic]


class EntitlementsPublic(BaseModel):
    """The perks the customer's tier grants, and what would earn each one withheld."""

    customer_id: str
    tier: Tier
    policy_version: int
    granted: list[PerkPublic]
    withheld: list[WithheldPerkPublic]
    effects: EffectsPublic
    as_of: str | None = Field(description="the tier holds at this time (null: no purchase yet)")
    computed_at: str | None
