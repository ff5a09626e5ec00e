"""The configurator: product families, configuring a variant, decoded codes, saved specs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from atelier_client.models._base import Model, Timestamp
from atelier_client.models.insights import PerkEffectPublic


class ProductSummary(Model):
    """A configurable product family as the list shows it."""

    product_id: str
    name: str
    description: str
    kind: str
    version: int
    currency: str
    base_price: float
    variant_count: int
    source: Literal["reference", "tenant"]


class ProductList(Model):
    products: list[ProductSummary]


class OptionPublic(Model):
    value: str
    label: str
    price_delta: float
    lead_time_days: int
    extra_days: int
    available: bool
    in_stock: bool
    measure: dict[str, float] | None = None
    tolerance: dict[str, float] | None = None


class AttributePublic(Model):
    name: str
    label: str
    group: Literal["product", "offer"]
    options: list[OptionPublic]


class MeasurementPublic(Model):
    name: str
    label: str | None
    unit: str
    min: float
    max: float
    attribute: str
    required: bool


class NegationPublic(Model):
    """A condition met by every option of the attribute but these."""

    not_: list[str] = Field(alias="not")


#: ``{attribute: condition}``: one option, any of several, or none of several.
Condition = dict[str, str | list[str] | NegationPublic]


class TextOptionPublic(Model):
    name: str
    label: str
    max_length: int
    allowed_chars: str
    price: float
    price_per_char: float
    extra_days: int
    required: bool
    enabled_by: Condition


class RulePublic(Model):
    id: str
    message: str | None


class ProductPublic(ProductSummary):
    """A family as ``GET /v1/configurator/products/{product_id}`` answers it."""

    assembly_days: int
    backend: Literal["bdd", "sat"]
    attributes: list[AttributePublic]
    measurements: list[MeasurementPublic]
    text_options: list[TextOptionPublic]
    rules: list[RulePublic]


class VariantPublic(Model):
    code: str
    selections: dict[str, str]
    price: float
    lead_time_days: int
    complete: bool
    missing: list[str]
    list_price: float | None = None
    list_lead_time_days: int | None = None


class OptionStatePublic(Model):
    value: str
    valid: bool
    reason: str | None = None
    rules: list[str] | None = None
    excluded_by: dict[str, str | float] | None = None


class ConflictPublic(Model):
    source: Literal["selections", "measurements"]
    attribute: str
    value: str | float
    conflicts_with: dict[str, str | float]
    rules: list[str]
    reason: str


class FitMatchPublic(Model):
    value: str
    deltas: dict[str, float]
    distance: float
    within_tolerance: bool


class FitPublic(Model):
    attribute: str
    matches: list[FitMatchPublic]
    nearest: list[FitMatchPublic]
    message: str


class PersonalizationPublic(Model):
    """What was learned from the customer's history and used for ``suggested``."""

    customer_id: str
    status: Literal["applied", "no_consent", "no_history"]
    learned: dict[str, dict[str, float]]
    sources: dict[str, int]
    stated: dict[str, str | float] = Field(default_factory=dict)


class ConfigurePublic(Model):
    complete: bool
    variant: VariantPublic | None
    options: dict[str, list[OptionStatePublic]]
    remaining_variants: int
    conflicts: list[ConflictPublic]
    suggested: VariantPublic | None
    fit: dict[str, FitPublic]
    missing: list[str]
    personalization: PersonalizationPublic | None = None
    perks: list[PerkEffectPublic] | None = None


class PriceLine(Model):
    attribute: str
    value: str
    amount: float


class TextPriceLine(Model):
    name: str
    amount: float


class PriceBreakdown(Model):
    currency: str
    base: float
    options: list[PriceLine]
    texts: list[TextPriceLine]
    total: float


class ModuleDays(Model):
    """The days one chosen option's module takes."""

    attribute: str
    value: str
    days: int


class SequentialStep(Model):
    """Days one step adds after assembly: an option's or a text option's (``name``)."""

    attribute: str | None = None
    value: str | None = None
    name: str | None = None
    days: int


class LeadTimeBreakdown(Model):
    assembly_days: int
    slowest_module: ModuleDays | None
    backorders: list[ModuleDays]
    sequential: list[SequentialStep]
    total_days: int


class VariantDecoded(Model):
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


class ConfigurationPublic(Model):
    configuration_id: str
    product_id: str | None = None
    version: int | None = None
    code: str | None = None
    selections: dict[str, str] | None = None
    measurements: dict[str, float] | None = None
    price: float | None = None
    currency: str | None = None
    lead_time_days: int | None = None
    label: str | None = None
    reorder_of: str | None = None
    created_at: Timestamp


class ConfigurationList(Model):
    customer_id: str
    configurations: list[ConfigurationPublic]
