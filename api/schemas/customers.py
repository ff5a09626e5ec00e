"""Customer profile schemas."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Attributes, Identifier


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personalization: bool = True


class CustomerCreate(BaseModel):
    """Body of ``PUT /v1/customers/{customer_id}``."""

    model_config = ConfigDict(extra="forbid")

    attributes: Attributes = Field(default_factory=dict)
    consent: Consent = Field(default_factory=Consent)
    account_manager: Identifier | None = None


class CustomerPublic(BaseModel):
    customer_id: str
    attributes: dict[str, Any]
    consent: Consent
    account_manager: str | None
    created_at: float | None
    updated_at: float | None
    has_profile: bool = Field(description="false when only events are known for this customer")


class CustomerExport(BaseModel):
    """Everything held about one customer."""

    customer_id: str
    profile: CustomerPublic | None
    events: list[dict[str, Any]]
    history: list[dict[str, Any]]
    configurations: list[dict[str, Any]]
    insights: dict[str, Any] | None
    exported_at: str


class ManagedCustomer(BaseModel):
    customer_id: str
    tier: str | None
    churn_risk: float | None
    clv: float | None
    lifecycle_stage: str | None
    next_best_action: dict[str, Any] | None
    priority: float | None = Field(description="higher first: what to do first")


class ManagedCustomerList(BaseModel):
    manager_id: str
    customers: list[ManagedCustomer]
