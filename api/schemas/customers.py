"""Customer profile schemas, and how the customer service's records become them."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Attributes, Identifier
from core.records import Customer
from customers import CustomerRecords, CustomerView


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personalization: bool = True


class CustomerCreate(BaseModel):
    """Body of ``PUT /v1/customers/{customer_id}``."""

    model_config = ConfigDict(extra="forbid")

    attributes: Attributes = Field(default_factory=dict)
    consent: Consent = Field(default_factory=Consent)
    account_manager: Identifier | None = None

    def to_record(self, customer_id: str) -> Customer:
        return Customer(
            customer_id=customer_id,
            attributes=self.attributes,
            consent_personalization=self.consent.personalization,
            account_manager=self.account_manager,
        )


class CustomerPublic(BaseModel):
    customer_id: str
    attributes: dict[str, Any]
    consent: Consent
    account_manager: str | None
    created_at: float | None
    updated_at: float | None
    has_profile: bool = Field(description="false when only events are known for this customer")

    @classmethod
    def of(cls, view: CustomerView) -> CustomerPublic:
        c = view.customer
        return cls(
            customer_id=c.customer_id,
            attributes=c.attributes,
            consent=Consent(personalization=c.consent_personalization),
            account_manager=c.account_manager,
            created_at=c.created_at if view.has_profile else None,
            updated_at=c.updated_at if view.has_profile else None,
            has_profile=view.has_profile,
        )


class CustomerExport(BaseModel):
    """Everything held about one customer."""

    customer_id: str
    profile: CustomerPublic | None
    events: list[dict[str, Any]]
    history: list[dict[str, Any]]
    configurations: list[dict[str, Any]]
    insights: dict[str, Any] | None
    exported_at: str

    @classmethod
    def of(cls, records: CustomerRecords) -> CustomerExport:
        """The export document, event times as ISO 8601, exported now."""
        hist = records.history
        return cls(
            customer_id=records.customer_id,
            profile=CustomerPublic.of(CustomerView(records.profile, True))
            if records.profile
            else None,
            events=[
                {**asdict(e), "timestamp": datetime.fromtimestamp(e.timestamp, UTC).isoformat()}
                for e in records.events
            ],
            history=[
                {"item_id": i, "weight": w, "purchased": p, "last_interaction": t}
                for i, w, p, t in zip(
                    hist.item_ids, hist.weights, hist.purchased, hist.last_ts, strict=True
                )
            ],
            configurations=records.configurations,
            insights=records.insights,
            exported_at=datetime.now(UTC).isoformat(),
        )


class ManagedCustomer(BaseModel):
    customer_id: str
    tier: str | None
    churn_risk: float | None
    clv: float | None
    lifecycle_stage: str | None
    next_best_action: dict[str, Any] | None
    priority: float | None = Field(description="higher first: what to do first")
