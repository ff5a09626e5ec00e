"""Recommendations, the recommendation policy, model versions, experiments and their reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from atelier_client.models._base import Model, Timestamp

#: Interaction kinds a policy may name (the event types but ``impression``).
InteractionKind = Literal[
    "view", "add_to_cart", "purchase", "return", "rating", "dislike", "click", "configure"
]


class Reason(Model):
    """Why an item is recommended: the interaction it comes from (``because_you_bought``, ...)
    or ``bought_together``, ``similar``, ``popular``, ...; ``item_ids`` names the items."""

    type: str
    item_ids: list[str] | None = None


class RecommendedItemPublic(Model):
    item_id: str
    score: float
    reasons: list[Reason] | None = Field(None, description="present with explain=true")


class ExperimentArmPublic(Model):
    experiment_id: str
    arm: str


class RecommendationsPublic(Model):
    """A recommendation answer (for a customer, an item or a basket)."""

    model_version: str | None
    items: list[RecommendedItemPublic]
    fallback: str | None = Field(description="null when personalised, else why not: popular, ...")
    experiment: ExperimentArmPublic | None = None


class TenantPolicy(Model):
    """Per-tenant business rules of the recommendations."""

    exclude_interacted: list[InteractionKind]
    allow_repurchase: bool


#: A model parameter: a number, a name, a switch, or a nested setting.
ParamValue = float | int | str | bool | list[Any] | dict[str, Any] | None

#: Validation metrics by slice (``validation``, ``validation_popularity``, ``validation_active``).
SliceMetrics = dict[str, dict[str, float | str | None]]


class ModelVersionPublic(Model):
    version: str
    active: bool
    created_at: Timestamp
    metrics: SliceMetrics
    family: str | None = None
    params: dict[str, ParamValue] | None = None


class WeightingPublic(Model):
    """How events became the training matrix's weights."""

    type_weights: dict[str, float]
    rating_scale: float
    rating_offset: float
    rating_power: float
    quantity: str
    half_life_days: float | None
    max_weight: float | None
    binary: bool


class ComparisonSlice(Model):
    from_: str = Field(alias="from")
    to: str
    customers: int | None = None


class ComparisonPublic(Model):
    """A retrain's comparison of the candidate with the active version, on one fresh slice."""

    metric: str
    slice: ComparisonSlice
    fresh: bool
    candidate: dict[str, float] | None
    active: dict[str, float] | None
    active_error: str | None = None
    search_trials: int
    weights: WeightingPublic | None = None
    against: str | None = None
    promote: str | None = None
    margin: float | None = None
    decision: Literal["promoted", "kept"] | None = None
    reason: str | None = None


class SearchPublic(Model):
    """The model search behind a version, in brief."""

    method: str | None
    trials: int


class ModelsPublic(Model):
    active: str | None
    versions: list[ModelVersionPublic]


class ModelDataPublic(Model):
    """What a version learned from: the events' time window, the data fingerprint, sizes."""

    first_event: Timestamp | None = None
    last_event: Timestamp | None = None
    requested_window: dict[str, str | None] | None = None
    fingerprint: str | None = None
    n_events: int | None = None
    n_customers: int | None = None
    n_items: int | None = None
    n_interactions: int | None = None


class ModelFilePublic(Model):
    sha256: str
    bytes: int


class ModelVersionDetail(Model):
    """One version in full (``GET /v1/models/{version}``)."""

    version: str
    active: bool
    created_at: Timestamp
    family: str | None = None
    params: dict[str, ParamValue] | None = None
    weights: WeightingPublic | None = None
    data: ModelDataPublic | None = None
    metrics: SliceMetrics
    comparison: ComparisonPublic | None = None
    search: SearchPublic | None = None
    files: dict[str, ModelFilePublic] | None = None
    seconds: dict[str, float] | None = None


class ArmStatus(Model):
    version: str
    serving: bool
    problem: str | None
    served_by: str


class Estimate(Model):
    value: float
    low: float
    high: float


class ReportGroup(Model):
    key: str
    impressions: int
    clicks: int
    ctr: Estimate
    conversions: int
    conversion_rate: Estimate
    revenue: float
    revenue_per_impression: Estimate


class ReportComparison(Model):
    baseline: str
    variant: str
    ctr_difference: Estimate
    conversion_rate_difference: Estimate
    revenue_per_impression_difference: Estimate


class ReportMethods(Model):
    confidence: float
    rates: str
    rate_differences: str
    revenue_per_impression: str
    revenue_differences: str


class ReportPublic(Model):
    """Feedback per model version or arm, with 95% intervals, and each group minus the first."""

    by: str
    from_: Timestamp | None = Field(alias="from")
    to: Timestamp | None
    window_days: float
    experiment_id: str | None
    groups: list[ReportGroup]
    comparisons: list[ReportComparison]
    methods: ReportMethods


class ExperimentSummary(Model):
    """An experiment in the tenant's list (its results are ``GET /v1/experiments/{id}``)."""

    experiment_id: str
    arms: dict[str, str]
    split: dict[str, float]
    status: str
    started_at: Timestamp
    ended_at: Timestamp | None
    promoted: str | None


class ExperimentList(Model):
    experiments: list[ExperimentSummary]


class ExperimentPublic(ExperimentSummary):
    """An experiment with each arm's state and its running results."""

    arm_status: dict[str, ArmStatus]
    results: ReportPublic
