"""Configurator schemas: product families, configure steps, variant codes, saved configurations.

The configure and describe answers are built by the engine (``ConfigureResult.to_dict()``,
``Configurator.describe()``); these models document them in the OpenAPI schema and the tests
validate real answers against them, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api.schemas.common import FiniteFloat, Identifier, Timestamp
from api.schemas.tiers import PerkEffectPublic
from core.fields import FieldError

#: A selection value: an option of an attribute, or the text of a free-text option.
SelectionValue = Annotated[str, StringConstraints(max_length=256)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Selections = Annotated[dict[Name, SelectionValue], Field(max_length=64)]
Measurements = Annotated[dict[Name, FiniteFloat], Field(max_length=64)]
#: A variant code: ``{product_id}.{version}.{base32 body}``.
Code = Annotated[str, StringConstraints(min_length=5, max_length=1024)]
Source = Literal["reference", "tenant"]


# -- products ---------------------------------------------------------------------------------
class ProductSummary(BaseModel):
    product_id: str
    name: str
    description: str
    kind: str
    version: int = Field(description="version that configure answers and new codes use")
    currency: str
    base_price: float
    variant_count: int = Field(description="exact number of valid variants")
    source: Source = Field(
        description="'reference': shipped with Atelier; 'tenant': loaded by this tenant "
        "(overrides a reference family of the same id)"
    )


class ProductList(BaseModel):
    products: list[ProductSummary]


class OptionPublic(BaseModel):
    value: str
    label: str
    price_delta: float
    lead_time_days: int = Field(description="days to have the module ready (restock included)")
    extra_days: int = Field(description="sequential days the option adds (embroidery, transit)")
    available: bool = Field(description="false when no valid variant uses it (e.g. out of stock)")
    in_stock: bool
    measure: dict[str, float] | None = Field(None, description="module centre per measurement")
    tolerance: dict[str, float] | None = None


class AttributePublic(BaseModel):
    name: str
    label: str
    group: Literal["product", "offer"]
    options: list[OptionPublic]


class MeasurementPublic(BaseModel):
    name: str
    label: str | None
    unit: str
    min: float
    max: float
    attribute: str = Field(description="the size attribute whose modules it selects")
    required: bool


class NegationPublic(BaseModel):
    """A condition met by every option of the attribute but these."""

    model_config = ConfigDict(populate_by_name=True)

    not_: list[str] = Field(alias="not")


#: ``{attribute: condition}``: one option, any of several, or none of several; all must hold.
Condition = dict[str, str | list[str] | NegationPublic]

#: A pick as answers name it: an option (selections) or a number (measurements).
PickValue = str | float


class TextOptionPublic(BaseModel):
    name: str
    label: str
    max_length: int
    allowed_chars: str
    price: float
    price_per_char: float
    extra_days: int
    required: bool
    enabled_by: Condition = Field(description="the picks that enable it (empty: always)")


class RulePublic(BaseModel):
    id: str
    message: str | None


class ProductPublic(BaseModel):
    """A family as ``GET /v1/configurator/products/{product_id}`` answers it."""

    product_id: str
    name: str
    description: str
    kind: str
    version: int
    currency: str
    base_price: float
    assembly_days: int
    variant_count: int
    backend: Literal["bdd", "sat"]
    attributes: list[AttributePublic]
    measurements: list[MeasurementPublic]
    text_options: list[TextOptionPublic]
    rules: list[RulePublic]
    source: Source


# -- configure --------------------------------------------------------------------------------
class ConfigureCreate(BaseModel):
    """Body of ``POST /v1/configurator/products/{product_id}/configure``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "selections": {"transport": "road-groupage", "cargo": "general"},
                    "measurements": {},
                    "preferences": {"insurance": ["basic-50k", "none"]},
                    "customer_id": "cust-42",
                }
            ]
        },
    )

    selections: Selections = Field(default_factory=dict, description="{attribute: option}")
    measurements: Measurements = Field(default_factory=dict, description="{name: number}")
    preferences: Annotated[
        dict[Name, SelectionValue | Annotated[list[SelectionValue], Field(max_length=256)]],
        Field(max_length=64),
    ] = Field(default_factory=dict, description="{attribute: option or [options, best first]}")
    customer_id: Identifier | None = Field(
        None, description="learn soft preferences from this customer's history (with consent)"
    )


class VariantPublic(BaseModel):
    code: str
    selections: dict[str, str]
    price: float
    lead_time_days: int
    complete: bool = Field(description="false while a required text (embroidery) is missing")
    missing: list[str]
    list_price: float | None = Field(
        None, description="the price before the customer's perks (only when a perk applied)"
    )
    list_lead_time_days: int | None = Field(
        None, description="the lead time before the customer's perks (only when a perk applied)"
    )


class OptionStatePublic(BaseModel):
    value: str
    valid: bool
    reason: str | None = Field(None, description="why it is excluded (invalid options only)")
    rules: list[str] = Field(default_factory=list, description="ids of the excluding rules")
    excluded_by: dict[str, PickValue] = Field(
        default_factory=dict, description="the customer's picks that exclude it"
    )


class ConflictPublic(BaseModel):
    source: Literal["selections", "measurements"]
    attribute: str = Field(description="the pick to drop")
    value: PickValue
    conflicts_with: dict[str, PickValue] = Field(description="the picks it conflicts with")
    rules: list[str]
    reason: str


class FitMatchPublic(BaseModel):
    value: str
    deltas: dict[str, float] = Field(description="measurement minus module centre")
    distance: float
    within_tolerance: bool


class FitPublic(BaseModel):
    attribute: str
    matches: list[FitMatchPublic]
    nearest: list[FitMatchPublic]
    message: str


class PersonalizationPublic(BaseModel):
    """What was learned from the customer's history and used for ``suggested``."""

    customer_id: str
    status: Literal["applied", "no_consent", "no_history"]
    learned: dict[str, dict[str, float]] = Field(
        description="{attribute: {option: weight}}, weights summing to 1 per attribute"
    )
    stated: dict[str, str | float] = Field(
        default_factory=dict,
        description="what the customer stated (answers) that the suggestion prefers: an option "
        "per attribute, a number per measurement; below what the request says",
    )
    sources: dict[str, int] = Field(
        description="how many configurations, configure events and purchased items contributed"
    )


class ConfigurePublic(BaseModel):
    complete: bool
    variant: VariantPublic | None
    options: dict[str, list[OptionStatePublic]]
    remaining_variants: int
    conflicts: list[ConflictPublic]
    suggested: VariantPublic | None
    fit: dict[str, FitPublic]
    missing: list[str]
    personalization: PersonalizationPublic | None = Field(
        None, description="present when customer_id was given"
    )
    perks: list[PerkEffectPublic] | None = Field(
        None,
        description="with customer_id: the perks of the customer's tier applied to price "
        "(discount) and lead time (priority_lead_time); empty when none applies",
    )


# -- variant codes ----------------------------------------------------------------------------
class PriceLine(BaseModel):
    attribute: str
    value: str
    amount: float


class TextPriceLine(BaseModel):
    name: str
    amount: float


class PriceBreakdown(BaseModel):
    currency: str
    base: float
    options: list[PriceLine]
    texts: list[TextPriceLine]
    total: float


class ModuleDays(BaseModel):
    """The days one chosen option's module takes (made in parallel, or backordered)."""

    attribute: str
    value: str
    days: int


class SequentialStep(BaseModel):
    """Days one step adds after assembly: an option's (``attribute``, ``value``) or a text
    option's (``name``)."""

    attribute: str | None = None
    value: str | None = None
    name: str | None = None
    days: int


class LeadTimeBreakdown(BaseModel):
    assembly_days: int
    slowest_module: ModuleDays | None = Field(description="the module that sets the pace")
    backorders: list[ModuleDays]
    sequential: list[SequentialStep]
    total_days: int


class VariantDecoded(BaseModel):
    """``GET /v1/configurator/variants/{code}``."""

    code: str
    product_id: str
    version: int
    selections: dict[str, str]
    complete: bool
    missing: list[str]
    price: float
    currency: str
    price_breakdown: PriceBreakdown
    lead_time_days: int
    lead_time: LeadTimeBreakdown


# -- saved configurations ---------------------------------------------------------------------
class ConfigurationCreate(BaseModel):
    """Body of ``POST /v1/customers/{customer_id}/configurations``: a complete spec
    (``product_id`` + ``selections``) or the ``code`` of a variant to reorder."""

    model_config = ConfigDict(extra="forbid")

    product_id: Identifier | None = None
    selections: Selections | None = None
    measurements: Measurements | None = Field(
        None, description="kept with the spec (reorder by code: the earlier spec's, if any)"
    )
    code: Code | None = None
    label: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ConfigurationCreate:
        if self.code is not None:
            if self.product_id is not None or self.selections is not None:
                raise FieldError(
                    "code", "give either code, or product_id with selections, not both"
                )
        elif self.product_id is None or self.selections is None:
            missing = "product_id" if self.product_id is None else "selections"
            raise FieldError(missing, "give product_id and selections, or the code of a variant")
        return self


class ConfigurationPublic(BaseModel):
    configuration_id: str
    product_id: str | None = None
    version: int | None = None
    code: str | None = None
    selections: dict[str, str] = Field(default_factory=dict)
    measurements: dict[str, float] = Field(default_factory=dict)
    price: float | None = None
    currency: str | None = None
    lead_time_days: int | None = None
    label: str | None = None
    reorder_of: str | None = Field(None, description="the code this configuration reorders")
    created_at: Timestamp


class ConfigurationList(BaseModel):
    customer_id: str
    configurations: list[ConfigurationPublic] = Field(description="oldest first")
