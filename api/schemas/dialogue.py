"""Dialogue schemas: contacts, service cases, questions, answers and next questions.

Times come in as RFC 3339 (no offset means UTC) and go out as RFC 3339; the store keeps POSIX
seconds. Every enumerated field (channel, direction, outcome, kind, status) refuses an unknown
value with a 422 that names it.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema

from api.schemas.common import FiniteFloat, Identifier
from api.schemas.insights import ManagedCustomerInsights
from dialogue.managers import Portfolio, WorkItem

ContactChannel = Literal["phone", "email", "visit", "chat", "sms", "post", "portal"]
Direction = Literal["inbound", "outbound"]
Outcome = Literal["reached", "no_answer", "sale", "declined", "resolved", "follow_up"]
CaseKind = Literal["complaint", "question", "repair", "return", "other"]
CaseStatus = Literal["open", "resolved"]
QuestionKind = Literal["choice", "number", "text"]
Decision = Literal["wallet", "size", "channel", "preference"]
Tier = Literal["MVC", "MGC", "BZ", "standard"]
Stage = Literal["exploration", "formation", "stable", "decline"]

#: A note or description: at most 4 KiB of UTF-8.
MAX_NOTE_BYTES = 4096


def _at_most_4kib(value: str | None) -> str | None:
    if value is not None and len(value.encode()) > MAX_NOTE_BYTES:
        raise ValueError(f"must be at most {MAX_NOTE_BYTES} bytes of UTF-8")
    return value


Note = Annotated[str, AfterValidator(_at_most_4kib)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


def posix(moment: datetime | None) -> float | None:
    """POSIX seconds of an RFC 3339 time (UTC when it has no offset)."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def rfc3339(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- contacts ------------------------------------------------------------------------------------
class ContactCreate(Strict):
    """Body of ``POST /v1/customers/{customer_id}/contacts``."""

    contact_id: Identifier | None = None
    channel: ContactChannel
    direction: Direction
    account_manager: Identifier | None = None
    topic: ShortText | None = None
    outcome: Outcome | None = None
    note: Note | None = None
    timestamp: datetime | None = None
    next_contact_at: datetime | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            **self.model_dump(exclude={"timestamp", "next_contact_at"}),
            "timestamp": posix(self.timestamp),
            "next_contact_at": posix(self.next_contact_at),
        }


class ContactPublic(BaseModel):
    contact_id: str
    channel: str
    direction: str | None
    account_manager: str | None
    topic: str | None
    outcome: str | None
    note: str | None
    timestamp: datetime
    next_contact_at: datetime | None
    recorded_at: datetime

    @classmethod
    def of(cls, doc: dict[str, Any]) -> ContactPublic:
        times = {k: rfc3339(doc.get(k)) for k in ("timestamp", "next_contact_at", "recorded_at")}
        return cls.model_validate({**doc, **times})


class ContactList(BaseModel):
    customer_id: str
    contacts: list[ContactPublic]
    next_cursor: str | None


# -- cases ---------------------------------------------------------------------------------------
class CaseCreate(Strict):
    """Body of ``POST /v1/customers/{customer_id}/cases``."""

    case_id: Identifier | None = None
    kind: CaseKind
    category: ShortText
    item_id: Identifier | None = None
    configuration_id: Identifier | None = None
    severity: StrictInt = Field(ge=1, le=5)
    description: Note | None = None
    opened_at: datetime | None = None

    def to_doc(self) -> dict[str, Any]:
        return {**self.model_dump(exclude={"opened_at"}), "opened_at": posix(self.opened_at)}


class CaseUpdate(Strict):
    """Body of ``PATCH /v1/customers/{customer_id}/cases/{case_id}``: only the fields sent change."""

    # Null would delete the status, which a case always has: not in the document, and refused.
    status: CaseStatus | SkipJsonSchema[None] = None
    resolution: Note | None = None
    compensation: FiniteFloat | None = Field(None, ge=0, le=1e9)
    contacts_to_resolve: StrictInt | None = Field(None, ge=1, le=1000)
    resolved_at: datetime | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status_is_not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("a case always has a status: 'open' or 'resolved', not null")
        return value

    def to_update(self) -> dict[str, Any]:
        sent = self.model_dump(exclude_unset=True)
        if "resolved_at" in sent:
            sent["resolved_at"] = posix(self.resolved_at)
        return sent


class CasePublic(BaseModel):
    case_id: str
    kind: str
    category: str | None
    item_id: str | None
    configuration_id: str | None
    severity: int | None
    description: str | None
    opened_at: datetime
    status: str
    resolution: str | None
    compensation: float | None
    contacts_to_resolve: int | None
    resolved_at: datetime | None

    @classmethod
    def of(cls, doc: dict[str, Any]) -> CasePublic:
        times = {k: rfc3339(doc.get(k)) for k in ("opened_at", "resolved_at")}
        return cls.model_validate({**doc, **times})


class CaseList(BaseModel):
    customer_id: str
    cases: list[CasePublic]
    next_cursor: str | None


# -- questions and answers -----------------------------------------------------------------------
class AppliesTo(Strict):
    tier: list[Tier] | None = None
    lifecycle_stage: list[Stage] | None = None


class QuestionCreate(Strict):
    """Body of ``PUT /v1/questions/{question_id}``."""

    text: Annotated[str, Field(min_length=1, max_length=500)]
    kind: QuestionKind
    options: list[ShortText] | None = Field(None, max_length=100)
    attribute: Identifier = Field(description="the profile fact the answer fills")
    applies_to: AppliesTo | None = None
    decides: Decision | None = Field(
        None, description="the decision the answer changes (preferred when it applies)"
    )
    weight: FiniteFloat = Field(1.0, ge=0, le=100, description="the bank's own preference")

    def to_doc(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class QuestionPublic(QuestionCreate):
    question_id: str

    @classmethod
    def of(cls, question_id: str, doc: dict[str, Any]) -> QuestionPublic:
        return cls.model_validate({**doc, "question_id": question_id})


class QuestionList(BaseModel):
    questions: list[QuestionPublic]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


AnswerValue = StrictStr | StrictInt | Annotated[StrictFloat, AfterValidator(_finite)]


class AnswerCreate(Strict):
    """Body of ``POST /v1/customers/{customer_id}/answers``."""

    question_id: Identifier
    value: AnswerValue = Field(description="one of the options, a number or a text")
    channel: ContactChannel | None = None
    timestamp: datetime | None = None

    def to_doc(self) -> dict[str, Any]:
        return {**self.model_dump(exclude={"timestamp"}), "timestamp": posix(self.timestamp)}


class FactPublic(BaseModel):
    """An answer as a fact on the profile."""

    question_id: str
    question: str | None = Field(description="the question's text (null once it left the bank)")
    attribute: str
    value: StrictStr | StrictInt | StrictFloat
    channel: str | None
    timestamp: datetime

    @classmethod
    def of(cls, doc: dict[str, Any]) -> FactPublic:
        return cls.model_validate({**doc, "timestamp": rfc3339(doc["timestamp"])})


class NextQuestion(BaseModel):
    question_id: str
    text: str
    kind: str
    options: list[str] | None
    attribute: str
    why: str
    score: float


class NextQuestions(BaseModel):
    customer_id: str
    questions: list[NextQuestion]


# -- account managers ----------------------------------------------------------------------------
class ManagerPublic(BaseModel):
    manager_id: str
    portfolio_size: int
    value_at_stake: float = Field(description="money of the next best actions waiting")
    contacts_overdue: int
    open_complaints: int
    warning: str | None = Field(description="set when the portfolio exceeds the tenant's cap")

    @classmethod
    def of(cls, portfolio: Portfolio) -> ManagerPublic:
        return cls.model_validate(asdict(portfolio))


class ManagerList(BaseModel):
    portfolio_cap: int
    managers: list[ManagerPublic]


class ManagerSettings(Strict):
    portfolio_cap: StrictInt = Field(1500, ge=1, le=1_000_000)


class AskPublic(BaseModel):
    question_id: str
    text: str
    kind: str
    options: list[str] | None
    why: str


class WorklistEntry(ManagedCustomerInsights):
    """A managed customer with what is due and what to ask."""

    next_contact_due: datetime | None = None
    overdue: bool = False
    open_complaints: int = 0
    questions: list[AskPublic] = Field(default_factory=list)

    @classmethod
    def of(cls, base: ManagedCustomerInsights, item: WorkItem) -> WorklistEntry:
        return cls(
            **base.model_dump(),
            next_contact_due=rfc3339(item.next_contact_due),
            overdue=item.overdue,
            open_complaints=item.open_complaints,
            questions=[AskPublic.model_validate(q) for q in item.questions],
        )


class WorklistPage(BaseModel):
    manager_id: str
    customers: list[WorklistEntry]
    next_cursor: str | None


# -- the service report --------------------------------------------------------------------------
class ServiceFigures(BaseModel):
    cases: int
    open: int
    resolved: int
    complaints: int
    first_contact_resolution_rate: float | None = Field(
        description="resolved in one contact, of the resolved cases that say how many it took"
    )
    median_hours_to_resolve: float | None
    mean_hours_to_resolve: float | None


class ServiceDay(BaseModel):
    date: str
    category: str
    opened: int
    resolved: int


class ServiceReport(BaseModel):
    per_day: list[ServiceDay]
    by_tier: dict[str, ServiceFigures]
    by_category: dict[str, ServiceFigures]
    overall: ServiceFigures
