"""Customer profile schemas, and how the customer service's records become them."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    create_model,
)

from api.schemas.common import DocumentedAs, Identifier, IndexedErrors, Timestamp, json_size_limit
from api.schemas.configurator import ConfigurationPublic
from api.schemas.dialogue import CasePublic, ContactPublic
from api.schemas.insights import CustomerInsightsPublic
from core.records import CONSENT_CHANNELS, EventType
from customers import CustomerRecords, CustomerView

# The profile models are the customers package's (the file importer validates with them too).
from customers.schema import ChannelConsent, Consent
from customers.schema import CustomerBatchEntry as CustomerBatchEntry
from customers.schema import CustomerCreate as CustomerCreate

Channel = Literal["email", "phone", "sms", "post"]


class ConsentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    personalization: StrictBool | None = None
    channels: dict[Channel, StrictBool | None] | None = None


class CustomerPatch(BaseModel):
    """Body of ``PATCH /v1/customers/{customer_id}`` (JSON merge patch, RFC 7396): only the
    fields sent change; in ``attributes`` and ``consent.channels`` a null removes that key."""

    model_config = ConfigDict(extra="forbid")

    attributes: Annotated[dict[str, Any], json_size_limit(16_384)] | None = None
    consent: ConsentPatch | None = None
    account_manager: Identifier | None = None

    def to_patch(self) -> dict[str, Any]:
        """The merge patch as sent (fields not sent absent; nulls kept)."""
        return self.model_dump(exclude_unset=True)


class CustomerBatch(BaseModel):
    """Body of ``POST /v1/customers/batch``: entries are validated one by one."""

    model_config = ConfigDict(extra="forbid")

    customers: Annotated[list[Any], DocumentedAs(list[CustomerBatchEntry])] = Field(
        description="up to 10,000 profiles"
    )


class CustomerBatchResult(BaseModel):
    upserted: int
    errors: list[IndexedErrors]


class MergeRequest(BaseModel):
    """Body of ``POST /v1/customers/{customer_id}/merge``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: list[Identifier] = Field(alias="from", min_length=1, max_length=100)


class MergeResult(BaseModel):
    customer_id: str
    merged: list[str]
    aliases: list[str] = Field(description="every id now answering as this customer")
    moved: dict[str, int] = Field(description="what moved, by kind")


class AnswerRecord(BaseModel):
    """An answer as stored: the question it answers, the profile fact it fills, when and where."""

    question_id: str
    attribute: str
    value: StrictStr | StrictInt | StrictFloat
    channel: str | None
    timestamp: Timestamp


class Fact(AnswerRecord):
    """An answer to a question, as a dated fact on the profile."""

    question: str | None = Field(description="the question's text (null once it left the bank)")


class CustomerPublic(BaseModel):
    customer_id: str
    attributes: dict[str, Any]
    consent: Consent
    account_manager: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    has_profile: bool = Field(description="false when only events are known for this customer")
    facts: list[Fact] = Field(default_factory=list, description="answers, newest first")

    @classmethod
    def of(cls, view: CustomerView) -> CustomerPublic:
        c = view.customer
        return cls(
            customer_id=c.customer_id,
            attributes=c.attributes,
            consent=Consent(
                personalization=c.consent_personalization,
                channels=ChannelConsent(
                    **{k: bool(v) for k, v in c.consent_channels.items() if k in CONSENT_CHANNELS}
                ),
            ),
            account_manager=c.account_manager,
            created_at=c.created_at if view.has_profile else None,
            updated_at=c.updated_at if view.has_profile else None,
            has_profile=view.has_profile,
            facts=[
                Fact.model_validate({**f, "timestamp": datetime.fromtimestamp(f["timestamp"], UTC)})
                for f in view.facts
            ],
        )


class ExportedEvent(BaseModel):
    """One stored event of the customer, as the export gives it."""

    event_id: str
    customer_id: str
    type: EventType
    timestamp: datetime
    item_id: str | None
    quantity: float | None
    value: float | None
    context: dict[str, Any] | None


class ExportedInteraction(BaseModel):
    """One item of the customer's interaction history (what the recommender learned from)."""

    item_id: str
    weight: float
    purchased: bool
    last_interaction: datetime


def _stored_row_model() -> type[BaseModel]:
    """The insights row as the store keeps it: the fields of the public row, each optional (a row
    written by an earlier version may lack a newer one), and the job's working figures beside."""
    fields: dict[str, Any] = {
        name: (cast(Any, f.annotation) | None, Field(None, description=f.description))
        for name, f in CustomerInsightsPublic.model_fields.items()
    }
    fields["run_rate"] = (
        float | None,
        Field(None, description="observed spend per day (CLV's run-rate part)"),
    )
    fields["annual_spend"] = (
        float | None,
        Field(None, description="net spend a year (share of wallet's numerator)"),
    )
    return create_model(
        "InsightsRecord",
        __config__=ConfigDict(extra="allow"),
        __doc__="A customer's stored insights row (what GET /insights answers from).",
        **fields,
    )


InsightsRecord = _stored_row_model()


class CustomerExport(BaseModel):
    """Everything held about one customer."""

    customer_id: str
    profile: CustomerPublic | None
    events: list[ExportedEvent]
    history: list[ExportedInteraction]
    configurations: list[ConfigurationPublic]
    # The row as stored (no field added), documented field by field.
    insights: Annotated[dict[str, Any] | None, DocumentedAs(InsightsRecord | None)] = Field(
        description="the stored insights row, as the last job run and the purchases since left it"
    )
    contacts: list[ContactPublic] = Field(default_factory=list)
    cases: list[CasePublic] = Field(default_factory=list)
    answers: list[AnswerRecord] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list, description="ids merged into this one")
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
                {
                    "item_id": i,
                    "weight": float(w),
                    "purchased": bool(p),
                    "last_interaction": datetime.fromtimestamp(float(t), UTC).isoformat(),
                }
                for i, w, p, t in zip(
                    hist.item_ids, hist.weights, hist.purchased, hist.last_ts, strict=True
                )
            ],
            configurations=[ConfigurationPublic.model_validate(c) for c in records.configurations],
            insights=records.insights,
            contacts=[ContactPublic.of(c) for c in records.contacts],
            cases=[CasePublic.of(c) for c in records.cases],
            answers=[AnswerRecord.model_validate(a) for a in records.answers],
            aliases=records.aliases,
            exported_at=datetime.now(UTC).isoformat(),
        )
