"""Customer intelligence schemas: one customer's insights, Pareto, segments, the fitted models."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from insights.config import ValueConfig

Tier = Literal["MVC", "MGC", "BZ", "standard"]
Stage = Literal["exploration", "formation", "stable", "decline"]
Action = Literal["recover", "retain", "cross_sell", "upgrade", "self_service"]
Channel = Literal["self_service", "email", "phone", "sms", "post", "account_manager"]


class RFMPublic(BaseModel):
    """Scores 1-5 (5 = most recent / most frequent / highest order value); null before a purchase."""

    r: int | None
    f: int | None
    m: int | None


class NextBestActionPublic(BaseModel):
    action: Action
    reason: str
    priority: float = Field(description="money at stake over the horizon; higher = do it first")
    items: list[str] | None = Field(
        None, description="items to offer, when a recommender gave them"
    )
    channel: Channel | None = Field(
        None,
        description="where to act: the tier's preferred channel among those the customer "
        "consents to (account manager for MVC, personal channels for MGC and standard, "
        "self-service for BZ and whoever consents to nothing else)",
    )
    cases: list[str] | None = Field(
        None, description="recover: the open complaints (case ids) to put right"
    )


class NextTierPublic(BaseModel):
    tier: Tier
    requirement: str = Field(description="what reaching it takes, in words")
    reachable: bool = Field(
        True,
        description="whether a route is within the customer's reach: at most three times the "
        "purchases, or a single purchase of at most three times the spend, they make at their "
        "own pace in the window (false: the requirement says how far it is)",
    )
    purchases: int | None = Field(
        None, description="purchases of the usual size that suffice (a reachable route)"
    )
    spend: float | None = Field(
        None, description="spend in one purchase that suffices (a reachable route)"
    )
    within_days: int | None = None


class HistoryPublic(BaseModel):
    purchases: int = Field(description="purchase days before as_of (same-day purchases are one)")
    first_purchase: str
    last_purchase: str
    revenue: float
    returned: float


class CustomerInsightsPublic(BaseModel):
    """One customer's value figures, tier, lifecycle and what to do next.

    ``clv`` and ``predicted_purchases`` cover ``horizon_days``; ``tier``, ``net_value``,
    ``next_best_action`` and ``next_tier`` were decided on the tenant's configured horizon
    (``tier_horizon_days``) and do not change with the ``horizon_days`` query parameter.
    """

    customer_id: str
    status: Literal["scored", "no_purchases"] = Field(
        description="no_purchases: known customer without a purchase yet (figures are null)"
    )
    tier: Tier
    clv: float | None = Field(description="discounted margin expected over horizon_days")
    predicted_purchases: float | None = Field(description="purchase days expected in horizon_days")
    expected_spend: float | None = Field(
        description="expected value of one purchase, net of returns"
    )
    net_value: float | None = Field(description="CLV minus cost to serve, on tier_horizon_days")
    p_alive: float | None = Field(
        description="probability of being an active customer: buying again within the "
        "validation window, calibrated on the window before as_of (the model's P(alive) when "
        "value_model is model)"
    )
    churn_risk: float | None = Field(description="probability of no purchase in the churn horizon")
    lifecycle_stage: Stage
    rfm: RFMPublic
    next_best_action: NextBestActionPublic
    next_tier: NextTierPublic | None = Field(
        description="null for MVC customers (top of the ladder)"
    )
    clv_model: float | None = Field(
        None, description="the purchase-count model's CLV alone (clv blends it with the run rate)"
    )
    p_alive_model: float | None = Field(None, description="the purchase-count model's own P(alive)")
    needs_segment: str | None = Field(None, description="needs segment id (job runs assign it)")
    needs_label: str | None = None
    share_of_wallet: float | None = Field(None, description="annual spend over the wallet (0-1)")
    wallet_estimate: float | None = Field(None, description="the wallet: spend a year possible")
    wallet_source: Literal["declared", "peer_estimate"] | None = None
    wallet_gap: float | None = Field(None, description="wallet minus annual spend, in money")
    horizon_days: float | None
    tier_horizon_days: float | None
    history: HistoryPublic | None
    as_of: str | None = Field(description="the figures hold at this time (end of observation)")
    computed_at: str
    model_computed_at: str | None = Field(description="computed_at of the fitted models used")


class ParetoPoint(BaseModel):
    customer_share: float
    revenue_share: float


class ParetoPublic(BaseModel):
    """Revenue concentration: customers ranked by net revenue before the job's as_of."""

    curve: list[ParetoPoint]
    top_share: float = Field(description="the customer share of top_revenue_share (0.2)")
    top_revenue_share: float = Field(description="share of revenue from the top 20% of customers")
    customers_for_80_percent: float
    gini: float
    n_customers: int
    total_revenue: float
    profit: ProfitParetoPublic | None = Field(
        None, description="the profit Pareto beside the revenue one (null for older runs)"
    )
    as_of: str
    computed_at: str


class ProfitParetoPublic(BaseModel):
    """Profit concentration: customers ranked by past profit (margin on net revenue less the
    costs of their orders, returns, contacts and upkeep); loss-making customers count as zero
    on the curve and are reported apart."""

    curve: list[ParetoPoint]
    top_share: float
    top_revenue_share: float = Field(description="share of the profit from the top 20%")
    customers_for_80_percent: float
    gini: float
    n_customers: int
    total_revenue: float = Field(description="the profitable customers' profit")
    unprofitable_customers: int
    loss: float = Field(description="what the loss-making customers lose in total")
    net_profit: float


class ValueSettingsPublic(BaseModel):
    """The tenant's value configuration (version 0: the defaults, never set) and the version
    the last job run used (null before the first run). A change applies from the next run,
    to every row of it at once."""

    version: int
    config: ValueConfig
    run_config_version: int | None


class SegmentPublic(BaseModel):
    customers: int
    revenue: float = Field(description="net revenue before as_of")
    clv: float = Field(description="sum of CLV over the configured horizon")


class SegmentsPublic(BaseModel):
    """Counts and revenue by tier and by lifecycle stage, as of the last job run."""

    by_tier: dict[str, SegmentPublic]
    by_lifecycle: dict[str, SegmentPublic]
    n_customers: int
    as_of: str
    computed_at: str


class FittedModelPublic(BaseModel):
    model: str
    params: dict[str, float]
    penalizer: float
    log_likelihood: float | None = Field(
        description="total log-likelihood at the fitted parameters"
    )
    n_customers: int | None


class CalibrationPeriod(BaseModel):
    start: str = Field(description="first purchase day used")
    end: str = Field(description="last day of the calibration period")
    as_of: str
    time_unit_days: float


class ValueModelPublic(BaseModel):
    """The fitted customer-value models (parameters in ``time_unit_days`` units)."""

    transaction_model: FittedModelPublic = Field(description="BG/NBD or MBG/NBD: r, alpha, a, b")
    spend_model: FittedModelPublic | None = Field(
        description="Gamma-Gamma: p, q, gamma (null with too few repeat buyers)"
    )
    fallback_spend: float = Field(description="mean order value, used without a spend model")
    config_version: int | None = Field(
        None, description="version of the value settings the run used (0: the defaults)"
    )
    validation: dict[str, Any] | None = Field(
        None,
        description="what the validation window taught: the blend weight of the model's CLV "
        "against the run rate (with each weight's capture) and the activity model behind "
        "p_alive, with its calibration by decile",
    )
    calibration_period: CalibrationPeriod
    n_customers: int
    time_unit_days: float
    horizon_days: float
    as_of: str
    computed_at: str


class ManagedCustomerInsights(BaseModel):
    """A managed customer with the figures an account manager acts on."""

    customer_id: str
    tier: Tier | None
    churn_risk: float | None
    clv: float | None
    lifecycle_stage: Stage | None
    next_best_action: NextBestActionPublic | None
    priority: float | None = Field(description="higher first: what to do first")
    p_alive: float | None = None
    predicted_purchases: float | None = None
    next_tier: NextTierPublic | None = None
    share_of_wallet: float | None = None
    wallet_gap: float | None = Field(None, description="wallet minus annual spend, in money")
    computed_at: str | None = None

    @classmethod
    def of_row(cls, customer_id: str, row: dict[str, Any]) -> ManagedCustomerInsights:
        """From a customer's insights row (empty for a customer without insights yet)."""
        nba = row.get("next_best_action")
        return cls(
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
            share_of_wallet=row.get("share_of_wallet"),
            wallet_gap=row.get("wallet_gap"),
            computed_at=row.get("computed_at"),
        )


class ManagedCustomerInsightsList(BaseModel):
    manager_id: str
    customers: list[ManagedCustomerInsights]


class HistoryEntryPublic(BaseModel):
    """The customer's row at one job run (the fields compared across runs)."""

    computed_at: str
    as_of: str | None = None
    tier: Tier
    lifecycle_stage: Stage
    clv: float | None = None
    net_value: float | None = None
    p_alive: float | None = None
    churn_risk: float | None = None
    action: str | None = None
    needs_segment: str | None = None
    share_of_wallet: float | None = None
    wallet_estimate: float | None = None


class InsightsHistoryPublic(BaseModel):
    """Each run's entry, oldest first: tier and lifecycle migrations read down the list."""

    customer_id: str
    runs: list[HistoryEntryPublic]


class SegmentByPublic(BaseModel):
    customers: int
    revenue: float = Field(description="net revenue before as_of")
    clv: float = Field(description="sum of CLV over the configured horizon")
    label: str | None = Field(None, description="what sets a needs segment apart")
    by_tier: dict[str, int] | None = Field(None, description="customers per tier (value x needs)")


class SegmentsByPublic(BaseModel):
    """Customers, revenue and CLV per segment of one segmentation, as of the last job run."""

    by: str
    segments: dict[str, SegmentByPublic]
    as_of: str
    computed_at: str


class RetentionPeriodPublic(BaseModel):
    period: str
    active: int = Field(description="customers buying in the period")
    new: int
    retained: int = Field(description="active in this period and the one before")
    churned: int = Field(description="active in the period before, not in this one")
    reactivated: int = Field(description="back after at least one period without a purchase")
    customer_churn: float | None
    revenue: float
    lost_revenue: float = Field(description="what the previous period's customers spent less")
    revenue_churn: float | None = Field(description="lost revenue over the previous revenue")
    mvc_lost_revenue: float = Field(description="lost revenue from the run's MVC customers")
    kept_margin: float = Field(description="margin on the retained customers' revenue")
    acquisition_spend: float = Field(description="new customers x acquisition cost")
    replacement_cost: float = Field(description="churned customers x acquisition cost")
    partial: bool = Field(description="the period had not ended at as_of")


class CohortPublic(BaseModel):
    cohort: str = Field(description="the period of the customers' first purchase")
    customers: int
    retention: list[float] = Field(description="share buying in each period from the first")


class RetentionPublic(BaseModel):
    """Retention and defection per calendar period, before the last job's as_of."""

    period: Literal["month", "quarter"]
    periods: list[RetentionPeriodPublic]
    cohorts: list[CohortPublic]
    acquisition_cost: float
    as_of: str
    computed_at: str


class WalletKPIPublic(BaseModel):
    customers: int
    share_of_wallet: float | None = Field(description="annual spend over wallets")
    spend: float
    wallet: float
    gap: float = Field(description="wallet minus spend, in money")


class KPIRunPublic(BaseModel):
    """The share-of-customer headline of one insights run."""

    computed_at: str | None
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
    previous_computed_at: str | None = None
    change: dict[str, float | None] | None = Field(
        None, description="change since the previous run (null at the first run)"
    )
    runs: list[KPIRunPublic] = Field(
        default_factory=list,
        description="the headline figures of the last 24 runs, oldest first, this one last",
    )
    as_of: str
    computed_at: str


class AudienceMember(BaseModel):
    customer_id: str
    tier: Tier
    lifecycle_stage: Stage
    clv: float | None
    churn_risk: float | None
    needs_segment: str | None = None
    share_of_wallet: float | None = None
    wallet_gap: float | None = None
    next_best_action: NextBestActionPublic


class AudiencePublic(BaseModel):
    """One page of a campaign's target list, in customer id order."""

    customers: list[AudienceMember]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null: last")
