"""Customer intelligence: value figures per customer, tiers, segments, retention, value models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from atelier_client.models._base import Model, Timestamp


class NextBestActionPublic(Model):
    action: Literal["retain", "cross_sell", "upgrade", "self_service"]
    reason: str
    priority: float
    items: list[str] | None = None
    channel: Literal["self_service", "email", "phone", "account_manager"] | None = None
    cases: list[str] | None = None


class AudienceMember(Model):
    customer_id: str
    tier: Literal["MVC", "MGC", "BZ", "standard"]
    lifecycle_stage: Literal["exploration", "formation", "stable", "decline"]
    clv: float | None
    churn_risk: float | None
    needs_segment: str | None = None
    share_of_wallet: float | None = None
    wallet_gap: float | None = None
    next_best_action: NextBestActionPublic


class AudiencePublic(Model):
    """One page of a campaign's target list, in customer id order."""

    customers: list[AudienceMember]
    next_cursor: str | None


class RFMPublic(Model):
    """Scores 1-5 (5 = most recent / most frequent / highest order value); null before a purchase."""

    r: int | None
    f: int | None
    m: int | None


class NextTierPublic(Model):
    tier: Literal["MVC", "MGC", "BZ", "standard"]
    requirement: str
    reachable: bool = True
    purchases: int | None = None
    spend: float | None = None
    within_days: int | None = None


class HistoryPublic(Model):
    purchases: int
    first_purchase: Timestamp
    last_purchase: Timestamp
    revenue: float
    returned: float


class CustomerInsightsPublic(Model):
    """One customer's value figures, tier, lifecycle and what to do next."""

    customer_id: str
    status: Literal["scored", "no_purchases"]
    tier: Literal["MVC", "MGC", "BZ", "standard"]
    clv: float | None
    predicted_purchases: float | None
    expected_spend: float | None
    net_value: float | None
    p_alive: float | None
    churn_risk: float | None
    lifecycle_stage: Literal["exploration", "formation", "stable", "decline"]
    rfm: RFMPublic
    next_best_action: NextBestActionPublic
    next_tier: NextTierPublic | None
    clv_model: float | None = None
    p_alive_model: float | None = None
    needs_segment: str | None = None
    needs_label: str | None = None
    share_of_wallet: float | None = None
    wallet_estimate: float | None = None
    wallet_source: Literal["declared", "peer_estimate"] | None = None
    wallet_gap: float | None = None
    horizon_days: float | None
    tier_horizon_days: float | None
    history: HistoryPublic | None
    as_of: Timestamp | None
    computed_at: Timestamp
    model_computed_at: Timestamp | None


class HistoryEntryPublic(Model):
    """The customer's row at one job run (the fields compared across runs)."""

    computed_at: Timestamp
    as_of: Timestamp | None = None
    tier: Literal["MVC", "MGC", "BZ", "standard"]
    lifecycle_stage: Literal["exploration", "formation", "stable", "decline"]
    clv: float | None = None
    net_value: float | None = None
    p_alive: float | None = None
    churn_risk: float | None = None
    action: str | None = None
    needs_segment: str | None = None
    share_of_wallet: float | None = None
    wallet_estimate: float | None = None


class InsightsHistoryPublic(Model):
    """Each run's entry, oldest first: tier and lifecycle migrations read down the list."""

    customer_id: str
    runs: list[HistoryEntryPublic]


class ParetoPoint(Model):
    customer_share: float
    revenue_share: float


class _Concentration(Model):
    """A concentration curve and its figures (revenue or profit)."""

    curve: list[ParetoPoint]
    top_share: float
    top_revenue_share: float
    customers_for_80_percent: float
    gini: float
    n_customers: int
    total_revenue: float


class ProfitParetoPublic(_Concentration):
    """Profit concentration: customers ranked by past profit."""

    unprofitable_customers: int
    loss: float
    net_profit: float


class ParetoPublic(_Concentration):
    """Revenue concentration: customers ranked by net revenue before the job's as_of."""

    profit: ProfitParetoPublic | None = None
    as_of: Timestamp
    computed_at: Timestamp


class RetentionPeriodPublic(Model):
    period: str
    active: int
    new: int
    retained: int
    churned: int
    reactivated: int
    customer_churn: float | None
    revenue: float
    lost_revenue: float
    revenue_churn: float | None
    mvc_lost_revenue: float
    kept_margin: float
    acquisition_spend: float
    replacement_cost: float
    partial: bool


class CohortPublic(Model):
    cohort: str
    customers: int
    retention: list[float]


class RetentionPublic(Model):
    """Retention and defection per calendar period, before the last job's as_of."""

    period: Literal["month", "quarter"]
    periods: list[RetentionPeriodPublic]
    cohorts: list[CohortPublic]
    acquisition_cost: float
    as_of: Timestamp
    computed_at: Timestamp


class SegmentPublic(Model):
    customers: int
    revenue: float
    clv: float


class SegmentByPublic(SegmentPublic):
    label: str | None = None
    by_tier: dict[str, int] | None = None


class SegmentsByPublic(Model):
    """Customers, revenue and CLV per segment of one segmentation, as of the last job run."""

    by: str
    segments: dict[str, SegmentByPublic]
    as_of: Timestamp
    computed_at: Timestamp


class SegmentsPublic(Model):
    """Counts and revenue by tier and by lifecycle stage, as of the last job run."""

    by_tier: dict[str, SegmentPublic]
    by_lifecycle: dict[str, SegmentPublic]
    n_customers: int
    as_of: Timestamp
    computed_at: Timestamp


class WalletKPIPublic(Model):
    customers: int
    share_of_wallet: float | None
    spend: float
    wallet: float
    gap: float


class KPIRunPublic(Model):
    """The share-of-customer headline of one insights run."""

    computed_at: Timestamp | None
    share_of_wallet: float | None
    spend: float | None
    wallet: float | None
    gap: float | None
    customers: int | None


class ShareOfCustomerPublic(WalletKPIPublic):
    """The tenant's share-of-customer KPI at the last job run."""

    by_tier: dict[str, WalletKPIPublic]
    products_per_customer: float
    categories_per_customer: float
    previous_computed_at: Timestamp | None = None
    change: dict[str, float | None] | None = None
    runs: list[KPIRunPublic] = Field(default_factory=list)
    as_of: Timestamp
    computed_at: Timestamp


class FittedModelPublic(Model):
    model: str
    params: dict[str, float]
    penalizer: float
    log_likelihood: float | None
    n_customers: int | None


class CalibrationPeriod(Model):
    start: str
    end: str
    as_of: Timestamp
    time_unit_days: float


class ValueModelPublic(Model):
    """The fitted customer-value models (parameters in ``time_unit_days`` units)."""

    transaction_model: FittedModelPublic
    spend_model: FittedModelPublic | None
    fallback_spend: float
    config_version: int | None = None
    validation: dict[str, Any] | None = None
    calibration_period: CalibrationPeriod
    n_customers: int
    time_unit_days: float
    horizon_days: float
    as_of: Timestamp
    computed_at: Timestamp


class CostToServe(Model):
    """What serving one customer costs, beyond the goods (used for the BZ tier)."""

    per_customer_year: float | None = None
    per_order: float | None = None
    per_return: float | None = None
    per_contact: float | None = None
    contact_floor_days: float | None = None


class ValueConfig(Model):
    """Everything a tenant may tune in its value figures (``PUT /v1/insights/config``)."""

    time_unit_days: float | None = None
    model: Literal["bgnbd", "mbgnbd"] | None = None
    penalizer: float | None = None
    spend_penalizer: float | None = None
    min_customers: int | None = None
    horizon_days: float | None = None
    discount_rate: float | None = None
    margin: float | None = None
    clv_step_days: float | None = None
    mvc_share: float | None = None
    mgc_sow_max: float | None = None
    mgc_potential_quantile: float | None = None
    mgc_growth_min: float | None = None
    mgc_min_p_alive: float | None = None
    mgc_min_headroom_share: float | None = None
    mgc_share: float | None = None
    peer_bands: int | None = None
    growth_window_days: float | None = None
    cost_to_serve: CostToServe | None = None
    next_tier_window_days: float | None = None
    next_tier_max_purchases: int | None = None
    churn_horizon_days: float | None = None
    decline_p_alive: float | None = None
    decline_churn_risk: float | None = None
    decline_trend: float | None = None
    trend_days: float | None = None
    trend_min_expected: float | None = None
    exploration_days: float | None = None
    stable_days: float | None = None
    stable_min_purchases: int | None = None
    upgrade_uplift: float | None = None
    value_model: Literal["validated_blend", "model"] | None = None
    validation_days: float | None = None
    runrate_days: float | None = None
    needs_segments: int | None = None
    wallet_quantile: float | None = None
    acquisition_cost: float | None = None


class ValueSettingsPublic(Model):
    """The tenant's value configuration (version 0: the defaults, never set)."""

    version: int
    config: ValueConfig
    run_config_version: int | None


PerkKind = Literal["discount", "delivery", "priority_lead_time", "account_manager", "other"]
Tier = Literal["MVC", "MGC", "BZ", "standard"]


class Perk(Model):
    """One perk: ``value`` is a fraction of the price for ``discount`` (0.1 = 10% off), days
    for ``priority_lead_time``."""

    perk_id: str
    title: str
    kind: PerkKind
    value: float | None = None


class TierPerks(Model):
    perks: list[Perk] = Field(default_factory=list)


class TierPolicyPublic(Model):
    """The tenant's perks per tier (version 0: never set, no perks)."""

    version: int
    tiers: dict[str, TierPerks]


class PerkEffectPublic(Perk):
    """A granted perk as applied to the service."""


class PerkPublic(Perk):
    """A perk with the tier that grants it."""

    tier: Tier


class RequirementPublic(Model):
    """What would earn a withheld perk, in terms the customer can act on."""

    tier: Tier
    reachable: bool
    route: Literal["purchases", "spend", "first_purchase"] | None
    purchases: int | None
    spend: float | None
    purchase_value: float | None
    within_days: int | None
    requirement: str


class WithheldPerkPublic(PerkPublic):
    requirement: RequirementPublic


class EffectsPublic(Model):
    """What the granted perks change in the service (the configurator applies them)."""

    discount: float
    lead_time_days_saved: int
    applied: list[PerkEffectPublic]


class EntitlementsPublic(Model):
    """The perks the customer's tier grants, and what would earn each one withheld."""

    customer_id: str
    tier: Tier
    policy_version: int
    granted: list[PerkPublic]
    withheld: list[WithheldPerkPublic]
    effects: EffectsPublic
    as_of: Timestamp | None
    computed_at: Timestamp | None
