"""The dialogue with a customer: contacts, service cases, questions and answers."""

from __future__ import annotations

from datetime import date
from typing import Literal

from atelier_client.models._base import Model, Timestamp


class AnswerRecord(Model):
    """An answer as stored: the question it answers, the profile fact it fills, when and where."""

    question_id: str
    attribute: str
    value: str | int | float
    channel: str | None
    timestamp: Timestamp


class Fact(AnswerRecord):
    """An answer to a question, as a dated fact on the profile."""

    question: str | None


class ContactPublic(Model):
    contact_id: str
    channel: str
    direction: str | None
    account_manager: str | None
    topic: str | None
    outcome: str | None
    note: str | None
    timestamp: Timestamp
    next_contact_at: Timestamp | None
    recorded_at: Timestamp


class ContactList(Model):
    customer_id: str
    contacts: list[ContactPublic]
    next_cursor: str | None


class CasePublic(Model):
    case_id: str
    kind: str
    category: str | None
    item_id: str | None
    configuration_id: str | None
    severity: int | None
    description: str | None
    opened_at: Timestamp
    status: str
    resolution: str | None
    compensation: float | None
    contacts_to_resolve: int | None
    resolved_at: Timestamp | None


class CaseList(Model):
    customer_id: str
    cases: list[CasePublic]
    next_cursor: str | None


class FactPublic(Fact):
    """An answer as a fact on the profile (the answer to ``POST .../answers``)."""


class NextQuestion(Model):
    question_id: str
    text: str
    kind: str
    options: list[str] | None
    attribute: str
    why: str
    score: float


class NextQuestions(Model):
    customer_id: str
    questions: list[NextQuestion]


class AppliesTo(Model):
    tier: list[Literal["MVC", "MGC", "BZ", "standard"]] | None = None
    lifecycle_stage: list[Literal["exploration", "formation", "stable", "decline"]] | None = None


class QuestionPublic(Model):
    text: str
    kind: Literal["choice", "number", "text"]
    options: list[str] | None = None
    attribute: str
    applies_to: AppliesTo | None = None
    decides: Literal["wallet", "size", "channel", "preference"] | None = None
    weight: float | None = None
    question_id: str


class QuestionList(Model):
    questions: list[QuestionPublic]


class ServiceDay(Model):
    date: date
    category: str
    opened: int
    resolved: int


class ServiceFigures(Model):
    cases: int
    open: int
    resolved: int
    complaints: int
    first_contact_resolution_rate: float | None
    median_hours_to_resolve: float | None
    mean_hours_to_resolve: float | None


class ServiceReport(Model):
    per_day: list[ServiceDay]
    by_tier: dict[str, ServiceFigures]
    by_category: dict[str, ServiceFigures]
    overall: ServiceFigures
