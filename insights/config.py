"""Per-tenant knobs of the customer-value job, with documented defaults.

Money figures are in the tenant's currency; durations in days unless the name says otherwise.
The defaults describe a small online shop; a bank or a logistics firm sets its own costs.

Examples
--------
>>> cfg = ValueConfig(time_unit_days=7, margin=0.25)
>>> cfg.horizon_units
52.142857142857146
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: Upper bounds of the settings: far past any real use, and low enough that no figure computed
#: from them overflows (a window of 1e16 days, a cost of 1e300).
MAX_DAYS = 36_500.0
MAX_MONEY = 1e9


class CostToServe(BaseModel):
    """What serving one customer costs, beyond the goods (used for the BZ tier).

    Cost over the horizon = ``per_customer_year`` x years + ``per_order`` x predicted purchases
    + ``per_return`` x predicted returns (the customer's returns per purchase day x predicted
    purchases) + ``per_contact`` x predicted service contacts (their contacts per year, counted
    over at least ``contact_floor_days`` of history, x years). Refunded value itself is already
    netted out of spend through the customer's return rate.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    per_customer_year: float = Field(
        default=2.0, ge=0, le=MAX_MONEY, description="account upkeep: CRM, mailings"
    )
    per_order: float = Field(
        default=1.0, ge=0, le=MAX_MONEY, description="payment and handling per order"
    )
    per_return: float = Field(
        default=5.0, ge=0, le=MAX_MONEY, description="reverse logistics and handling per return"
    )
    per_contact: float = Field(
        default=3.0, ge=0, le=MAX_MONEY, description="one service contact (mail, chat, call)"
    )
    contact_floor_days: float = Field(default=90.0, gt=0, le=MAX_DAYS)


class ValueConfig(BaseModel):
    """Everything a tenant may tune in :func:`training.insights.compute_insights`.

    Time unit: the models work in ``time_unit_days`` (1 = days, the default; 7 = weeks, as the
    published CDNOW figures are quoted). Parameters such as ``alpha`` depend on it; predictions do
    not (up to the rounding of whole days).
    """

    # strict: a number takes a JSON number, not "0.3" or true (API.md, Conventions)
    model_config = ConfigDict(extra="forbid", strict=True)

    time_unit_days: float = Field(default=1.0, gt=0, le=365)
    model: Literal["bgnbd", "mbgnbd"] = "bgnbd"
    penalizer: float = Field(
        default=0.0, ge=0, le=1e6, description="L2 penalty of the purchase-count model"
    )
    spend_penalizer: float = Field(
        default=0.0, ge=0, le=1e6, description="L2 penalty of Gamma-Gamma"
    )
    min_customers: int = Field(
        default=20, ge=2, le=1_000_000_000, description="fewer customers than this: refuse to fit"
    )

    # Value
    horizon_days: float = Field(
        default=365.0, gt=0, le=MAX_DAYS, description="CLV and predicted purchases horizon"
    )
    discount_rate: float = Field(
        default=0.10, ge=0, le=10, description="annual discount rate of CLV"
    )
    margin: float = Field(default=0.30, gt=0, le=1, description="gross margin applied to spend")
    clv_step_days: float = Field(
        default=30.0, gt=0, le=MAX_DAYS, description="discounting step of CLV"
    )

    # Tiers
    mvc_share: float = Field(
        default=0.20, gt=0, lt=1, description="top share of customers by CLV = MVC"
    )
    mgc_sow_max: float = Field(
        default=0.5, gt=0, le=1, description="MGC when CLV <= this share of the peer potential"
    )
    mgc_potential_quantile: float = Field(
        default=0.8, gt=0, lt=1, description="peer potential = this CLV quantile among peers"
    )
    mgc_growth_min: float = Field(
        default=1.5,
        gt=1,
        le=1000,
        description="MGC when next-window spend >= this x last-window spend",
    )
    mgc_min_p_alive: float = Field(default=0.5, ge=0, le=1)
    mgc_min_headroom_share: float = Field(
        default=0.25,
        ge=0,
        le=1000,
        description="unrealised value must reach this share of the MVC threshold",
    )
    mgc_share: float = Field(
        default=0.20, gt=0, lt=1, description="at most this share of customers is MGC"
    )
    peer_bands: int = Field(
        default=5, ge=1, le=1000, description="peer groups: bands of expected order value"
    )
    growth_window_days: float = Field(
        default=90.0, gt=0, le=MAX_DAYS, description="window of the growth comparison"
    )
    cost_to_serve: CostToServe = Field(default_factory=CostToServe)

    # Next tier
    next_tier_window_days: float = Field(default=90.0, gt=0, le=MAX_DAYS)
    next_tier_max_purchases: int = Field(default=50, ge=1, le=1_000_000)

    # Lifecycle and churn
    churn_horizon_days: float = Field(
        default=180.0, gt=0, le=MAX_DAYS, description="churn risk = P(no purchase in it)"
    )
    decline_p_alive: float = Field(default=0.5, ge=0, le=1)
    decline_churn_risk: float = Field(default=0.8, gt=0, le=1)
    decline_trend: float = Field(
        default=0.5, ge=0, le=1000, description="recent / usual purchase rate below this"
    )
    trend_days: float = Field(
        default=90.0, gt=0, le=MAX_DAYS, description="recent window of the trend (<= age / 2)"
    )
    trend_min_expected: float = Field(
        default=2.0,
        gt=0,
        le=1_000_000,
        description="judge the trend only when this many purchases were expected",
    )
    exploration_days: float = Field(default=60.0, ge=0, le=MAX_DAYS)
    stable_days: float = Field(default=180.0, ge=0, le=MAX_DAYS)
    stable_min_purchases: int = Field(
        default=4, ge=2, le=1_000_000, description="purchase days needed to be stable"
    )

    # Actions
    upgrade_uplift: float = Field(
        default=0.10,
        ge=0,
        le=1000,
        description="expected CLV uplift of an upgrade offer (priority of upgrade)",
    )

    # Value model (see insights.validation)
    value_model: Literal["validated_blend", "model"] = Field(
        default="validated_blend",
        description="validated_blend: CLV blends the model with the recent spending rate and "
        "p_alive is a calibrated activity probability, both learned on a validation window; "
        "model: the purchase-count model alone",
    )
    validation_days: float = Field(
        default=90.0,
        gt=0,
        le=MAX_DAYS,
        description="validation window before as_of (and activity window)",
    )
    runrate_days: float = Field(
        default=180.0,
        gt=0,
        le=MAX_DAYS,
        description="window of the recent spending rate (run-rate CLV)",
    )

    # Needs and share of wallet (see insights.differentiation)
    needs_segments: int = Field(
        default=6, ge=1, le=50, description="needs segments learned from what customers buy"
    )
    wallet_quantile: float = Field(
        default=0.9,
        gt=0,
        lt=1,
        description="peer wallet = this quantile of annual spend among alike customers",
    )

    # Acquisition
    acquisition_cost: float = Field(
        default=25.0,
        ge=0,
        le=MAX_MONEY,
        description="what winning one new customer costs (set against the value kept)",
    )

    # Field validators (not a model validator) so that a refusal names its field.
    @field_validator("clv_step_days")
    @classmethod
    def _step_within_horizon(cls, v: float, info: ValidationInfo) -> float:
        horizon = info.data.get("horizon_days")
        if horizon is not None and v > horizon:
            raise ValueError("clv_step_days must not exceed horizon_days")
        return v

    @field_validator("mgc_share")
    @classmethod
    def _tier_shares_add_up(cls, v: float, info: ValidationInfo) -> float:
        mvc = info.data.get("mvc_share")
        if mvc is not None and mvc + v >= 1.0:
            raise ValueError(
                f"tier shares must leave room for standard customers: mvc_share ({mvc}) + "
                f"mgc_share ({v}) must be below 1"
            )
        return v

    @property
    def horizon_units(self) -> float:
        return self.horizon_days / self.time_unit_days

    def units(self, days: float) -> float:
        """``days`` in the model's time unit."""
        return days / self.time_unit_days
