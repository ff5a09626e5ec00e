"""Customer profiles, merges, exports, and the account managers' portfolios and worklists."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from atelier_client.models._base import Model, Timestamp
from atelier_client.models.common import IndexedErrors
from atelier_client.models.configurator import ConfigurationPublic
from atelier_client.models.dialogue import AnswerRecord, CasePublic, ContactPublic, Fact
from atelier_client.models.insights import (
    HistoryPublic,
    NextBestActionPublic,
    NextTierPublic,
    RFMPublic,
)


class ChannelConsent(Model):
    """Consent per contact channel; a channel without consent is never proposed."""

    email: bool = False
    phone: bool = False
    sms: bool = False
    post: bool = False


class Consent(Model):
    """What the customer agreed to: personalised recommendations, and contact per channel."""

    personalization: bool = True
    channels: ChannelConsent = Field(default_factory=ChannelConsent)


class CustomerPublic(Model):
    """A profile (``has_profile`` false: only events are known; its times are then null)."""

    customer_id: str
    attributes: dict[str, Any]
    consent: Consent
    account_manager: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None
    has_profile: bool
    facts: list[Fact] = Field(default_factory=list)


class ExportedEvent(Model):
    """One stored event of the customer, as the export gives it."""

    event_id: str
    customer_id: str
    type: str
    timestamp: Timestamp
    item_id: str | None = None
    quantity: float | None = None
    value: float | None = None
    context: dict[str, Any] | None = None


class ExportedInteraction(Model):
    """One item of the customer's interaction history."""

    item_id: str
    weight: float
    purchased: bool
    last_interaction: Timestamp


class InsightsRecord(Model):
    """A customer's stored insights row (what ``GET .../insights`` answers from): the public
    row's fields, each optional, and the job's working figures."""

    customer_id: str | None = None
    status: Literal["scored", "no_purchases"] | None = None
    tier: Literal["MVC", "MGC", "BZ", "standard"] | None = None
    clv: float | None = None
    predicted_purchases: float | None = None
    expected_spend: float | None = None
    net_value: float | None = None
    p_alive: float | None = None
    churn_risk: float | None = None
    lifecycle_stage: Literal["exploration", "formation", "stable", "decline"] | None = None
    rfm: RFMPublic | None = None
    next_best_action: NextBestActionPublic | None = None
    next_tier: NextTierPublic | None = None
    clv_model: float | None = None
    p_alive_model: float | None = None
    needs_segment: str | None = None
    needs_label: str | None = None
    share_of_wallet: float | None = None
    wallet_estimate: float | None = None
    wallet_source: Literal["declared", "peer_estimate"] | None = None
    wallet_gap: float | None = None
    horizon_days: float | None = None
    tier_horizon_days: float | None = None
    history: HistoryPublic | None = None
    as_of: Timestamp | None = None
    computed_at: Timestamp | None = None
    model_computed_at: Timestamp | None = None
    run_rate: float | None = None
    annual_spend: float | None = None


class CustomerExport(Model):
    """Everything held about one customer."""

    customer_id: str
    profile: CustomerPublic | None
    events: list[ExportedEvent]
    history: list[ExportedInteraction]
    configurations: list[ConfigurationPublic]
    insights: InsightsRecord | None
    contacts: list[ContactPublic] = Field(default_factory=list)
    cases: list[CasePublic] = Field(default_factory=list)
    answers: list[AnswerRecord] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list)
    exported_at: Timestamp


class CustomerBatchResult(Model):
    upserted: int
    errors: list[IndexedErrors]


class MergeResult(Model):
    customer_id: str
    merged: list[str]
    aliases: list[str]
    moved: dict[str, int]


class ManagerPublic(Model):
    manager_id: str
    portfolio_size: int
    value_at_stake: float
    contacts_overdue: int
    open_complaints: int
    warning: str | None


class ManagerList(Model):
    portfolio_cap: int
    managers: list[ManagerPublic]


class ManagerSettings(Model):
    portfolio_cap: int | None = None


class AskPublic(Model):
    question_id: str
    text: str
    kind: str
    options: list[str] | None
    why: str


class WorklistEntry(Model):
    """A managed customer with what is due and what to ask."""

    customer_id: str
    tier: str | None
    churn_risk: float | None
    clv: float | None
    lifecycle_stage: str | None
    next_best_action: dict[str, Any] | None
    priority: float | None
    p_alive: float | None = None
    predicted_purchases: float | None = None
    next_tier: NextTierPublic | None = None
    computed_at: Timestamp | None = None
    next_contact_due: Timestamp | None = None
    overdue: bool | None = None
    open_complaints: int | None = None
    questions: list[AskPublic] = Field(default_factory=list)
    share_of_wallet: float | None = None
    wallet_gap: float | None = None


class WorklistPage(Model):
    manager_id: str
    customers: list[WorklistEntry]
    next_cursor: str | None
