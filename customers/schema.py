"""The validation every incoming profile passes, whichever edge it comes through.

``PUT /v1/customers/{id}``, ``POST /v1/customers/batch`` (:mod:`api.routers.customers`) and
``atelier import customers`` (:mod:`customers.files`) validate each profile with these models, so
a file row is accepted or rejected exactly as the same entry of a batch. They live here, below
both edges, because the command line never imports the web app.

Examples
--------
>>> entry = CustomerBatchEntry.model_validate({"customer_id": "c1",
...                                            "consent": {"channels": {"email": True}}})
>>> entry.to_record(entry.customer_id).consent_channels["email"]
True
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from core.fields import Attributes, Identifier, ReadOnlyFlag, ReadOnlyTime, same_id
from core.records import Customer


class ChannelConsent(BaseModel):
    """Consent per contact channel; a channel without consent is never proposed."""

    model_config = ConfigDict(extra="forbid")

    email: StrictBool = False
    phone: StrictBool = False
    sms: StrictBool = False
    post: StrictBool = False


class Consent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personalization: StrictBool = True
    channels: ChannelConsent = Field(default_factory=ChannelConsent)


class CustomerCreate(BaseModel):
    """Body of ``PUT /v1/customers/{customer_id}``: what ``GET`` answered can be sent back as it
    is (``customer_id`` must be the path's; times, ``has_profile`` and ``facts`` are ignored:
    facts come from answers)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "attributes": {"segment": "retail", "city": "Lyon"},
                    "consent": {
                        "personalization": True,
                        "channels": {"email": True, "phone": False, "sms": False, "post": True},
                    },
                    "account_manager": "am-7",
                }
            ]
        },
    )

    attributes: Attributes = Field(default_factory=dict)
    consent: Consent = Field(default_factory=Consent)
    account_manager: Identifier | None = None
    customer_id: Identifier | None = Field(None, description="optional; must match the path")
    created_at: ReadOnlyTime = None
    updated_at: ReadOnlyTime = None
    has_profile: ReadOnlyFlag = None
    facts: list[dict[str, Any]] | None = Field(
        None, description="read-only: ignored when sent", json_schema_extra={"readOnly": True}
    )

    def to_record(self, customer_id: str) -> Customer:
        same_id(self.customer_id, customer_id, "customer_id")
        return Customer(
            customer_id=customer_id,
            attributes=self.attributes,
            consent_personalization=self.consent.personalization,
            account_manager=self.account_manager,
            consent_channels=self.consent.channels.model_dump(),
        )


class CustomerBatchEntry(CustomerCreate):
    """One entry of ``POST /v1/customers/batch`` (or one row of a customer file)."""

    customer_id: Identifier
