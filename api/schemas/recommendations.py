"""Recommendation and model-registry schemas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
)

from api.schemas.common import Identifier, Timestamp
from recommender.policy import DEFAULT_EXCLUDED

#: Interaction kinds a policy may name (event types other than ``impression``).
InteractionKind = Literal[
    "view", "add_to_cart", "purchase", "return", "rating", "dislike", "click", "configure"
]
_DEFAULT_EXCLUDED = TypeAdapter(list[InteractionKind]).validate_python(DEFAULT_EXCLUDED)


#: Why an item is recommended: the interaction the history items it comes from were
#: (``recommender.policy``), or what else the recommender used.
ReasonType = Literal[
    "because_you_bought",
    "because_you_rated",
    "because_you_added_to_cart",
    "because_you_configured",
    "because_you_viewed",
    "because_you_interacted",
    "bought_together",
    "similar",
    "similar_attributes",
    "popular",
    "profile",
]
#: ``null`` when a model personalised the answer.
Fallback = Literal["popular", "no_consent"]


class Reason(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: ReasonType = Field(
        description="the interaction the history items come from (because_you_...), or "
        "bought_together (with the basket), similar (to the item), similar_attributes (a new "
        "item, by its attributes), popular, profile"
    )
    item_ids: list[str] | None = Field(
        None, description="the customer's or basket's items the reason names"
    )


class RecommendedItemPublic(BaseModel):
    item_id: str
    score: float
    reasons: list[Reason] | None = Field(
        None, description="present with explain=true", exclude_if=lambda v: v is None
    )


class ExperimentArmPublic(BaseModel):
    experiment_id: str
    arm: str = Field(description="the arm that answered (send it back in feedback's context)")


class RecommendationsPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model_version": "20261201T020000-ease",
                    "items": [
                        {
                            "item_id": "sku-18",
                            "score": 0.92,
                            "reasons": [{"type": "because_you_bought", "item_ids": ["sku-17"]}],
                        },
                        {"item_id": "sku-33", "score": 0.71, "reasons": [{"type": "popular"}]},
                    ],
                    "fallback": None,
                }
            ]
        }
    )

    model_version: str | None
    items: list[RecommendedItemPublic]
    fallback: Fallback | None = Field(
        description="null when personalised; 'popular' (cold start or no model), 'no_consent' "
        "(the customer did not consent to personalization)"
    )
    experiment: ExperimentArmPublic | None = Field(
        None,
        description="present when an experiment arm answered",
        exclude_if=lambda v: v is None,
    )


class CrossSellCreate(BaseModel):
    """Body of ``POST /v1/recommendations/cross-sell``: a basket or cart."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"items": ["sku-17", "sku-21"], "customer_id": "cust-42", "n": 5}]
        },
    )

    items: list[Identifier] = Field(min_length=1, max_length=500)
    customer_id: Identifier | None = None
    n: StrictInt = Field(10, ge=1, le=100)
    explain: StrictBool = Field(False, description="add reasons such as 'bought together with X'")


#: A model parameter (``l2``, ``factors``, ``head`` …): a number, a name, a switch, or a
#: nested setting (a blend's members).
ParamValue = float | int | str | bool | list[Any] | dict[str, Any] | None

#: Validation metrics by slice: ``validation`` (the chosen model), ``validation_popularity``
#: (the baseline on the same slice), ``validation_active`` (the version active when it was
#: trained, with its ``version``), each ``{"ndcg@10": …, "precision@10": …, "users": …}``.
SliceMetrics = dict[str, dict[str, float | str | None]]


class ModelVersionPublic(BaseModel):
    version: str
    active: bool
    created_at: Timestamp
    metrics: SliceMetrics = Field(description="validation metrics by slice")
    family: str | None = None
    params: dict[str, ParamValue] | None = None


class WeightingPublic(BaseModel):
    """How events became the training matrix's weights."""

    model_config = ConfigDict(extra="allow")

    type_weights: dict[str, float] = Field(description="weight per event type")
    rating_scale: float
    rating_offset: float
    rating_power: float
    quantity: str = Field(description="none | linear | log: how a purchase's quantity counts")
    half_life_days: float | None = Field(description="decay: an event this old counts half")
    max_weight: float | None = Field(description="cap per customer and item")
    binary: bool = Field(description="every positive cell counts 1")


class ComparisonSlice(BaseModel):
    model_config = ConfigDict(extra="allow")

    from_: str = Field(alias="from", description="start of the fresh validation slice")
    to: str
    customers: int | None = Field(None, description="customers scored on it")


class ComparisonPublic(BaseModel):
    """A retrain's comparison: the candidate and the version active when it was trained,
    scored on the same fresh slice, and what was decided."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    metric: str
    slice: ComparisonSlice
    fresh: bool = Field(description="the slice holds only events the active version never saw")
    candidate: dict[str, float] | None = Field(description="the candidate's metrics on the slice")
    active: dict[str, float] | None = Field(description="the active version's, on the same slice")
    active_error: str | None = Field(None, description="why the active version was not scored")
    search_trials: int
    weights: WeightingPublic | None = None
    against: str | None = Field(None, description="the version it was compared with")
    promote: str | None = Field(None, description="the promotion rule asked for")
    margin: float | None = None
    decision: Literal["promoted", "kept"] | None = None
    reason: str | None = None


class SearchPublic(BaseModel):
    """The model search behind a version, in brief (``meta.json`` keeps every trial)."""

    method: str | None = Field(description="grid | optuna, or none when the family was given")
    trials: int = Field(description="candidates fitted and scored")


class ModelDataPublic(BaseModel):
    """What a version learned from: the events' time window, the data fingerprint, sizes."""

    first_event: str | None = Field(None, description="time of the first training event")
    last_event: str | None = Field(None, description="time of the last training event")
    requested_window: dict[str, str | None] | None = Field(
        None, description="the retrain's --since/--until, when it was given one"
    )
    fingerprint: str | None = Field(None, description="SHA-256 prefix of the training matrix")
    n_events: int | None = None
    n_customers: int | None = None
    n_items: int | None = None
    n_interactions: int | None = None


class ModelFilePublic(BaseModel):
    sha256: str
    bytes: int


class ModelVersionDetail(BaseModel):
    """One version in full (``GET /v1/models/{version}``)."""

    version: str
    active: bool
    created_at: Timestamp
    family: str | None = None
    params: dict[str, ParamValue] | None = None
    weights: WeightingPublic | None = Field(None, description="how events became weights")
    data: ModelDataPublic | None = None
    metrics: SliceMetrics = Field(description="validation metrics by slice (nDCG@10 and others)")
    comparison: ComparisonPublic | None = Field(
        None,
        description="the retrain's comparison with the version active when it was trained: "
        "both scored on the same fresh validation slice, the margin and the decision",
    )
    search: SearchPublic | None = Field(None, description="model search method and trials")
    files: dict[str, ModelFilePublic] | None = Field(
        None, description="the artifact files' SHA-256 and sizes"
    )
    seconds: dict[str, float] | None = Field(
        None, description="training time by step: matrix, search, fit, total"
    )


class ModelsPublic(BaseModel):
    active: str | None
    versions: list[ModelVersionPublic]


class TenantPolicy(BaseModel):
    """Per-tenant business rules of the recommendations."""

    model_config = ConfigDict(extra="forbid")

    exclude_interacted: list[InteractionKind] = Field(
        default_factory=lambda: list(_DEFAULT_EXCLUDED),
        max_length=8,
        description="interaction types after which an item is never recommended to that "
        "customer again (the customer already has it)",
    )
    allow_repurchase: StrictBool = Field(
        False,
        description="recommend items the customer already purchased (consumables), even when "
        "exclude_interacted names purchase",
    )
