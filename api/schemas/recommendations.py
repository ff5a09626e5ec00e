"""Recommendation and model-registry schemas."""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from api.schemas.common import Identifier


class Reason(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = Field(
        description="because_you_bought, bought_together, similar, "
        "similar_attributes, popular, profile"
    )
    item_ids: list[str] | None = None


class RecommendedItemPublic(BaseModel):
    item_id: str
    score: float
    reasons: list[Reason] | None = Field(None, description="present with explain=true")

    @model_serializer(mode="wrap")
    def _omit_absent_reasons(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("reasons") is None:
            data.pop("reasons", None)
        return data


class RecommendationsPublic(BaseModel):
    model_version: str | None
    items: list[RecommendedItemPublic]
    fallback: str | None = Field(
        description="null when personalised; 'popular' (cold start or no model), 'no_consent'"
    )


class CrossSellCreate(BaseModel):
    """Body of ``POST /v1/recommendations/cross-sell``: a basket or cart."""

    model_config = ConfigDict(extra="forbid")

    items: list[Identifier] = Field(min_length=1, max_length=500)
    customer_id: Identifier | None = None
    n: int = Field(10, ge=1, le=100)


class ModelVersionPublic(BaseModel):
    version: str
    active: bool
    created_at: float
    metrics: dict[str, Any]
    family: str | None = None
    params: dict[str, Any] | None = None


class ModelsPublic(BaseModel):
    active: str | None
    versions: list[ModelVersionPublic]


class TenantPolicy(BaseModel):
    """Per-tenant business rules of the recommendations."""

    model_config = ConfigDict(extra="forbid")

    allow_repurchase: bool = Field(
        False, description="recommend items the customer already purchased (consumables)"
    )
