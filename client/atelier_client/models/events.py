"""Events as the client sends them, and what ``POST /v1/events`` reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from atelier_client.models._base import Model, Timestamp
from atelier_client.models.common import IndexedErrors

#: The nine event types (API.md, Events).
EventType = Literal[
    "view",
    "add_to_cart",
    "purchase",
    "return",
    "rating",
    "dislike",
    "impression",
    "click",
    "configure",
]


class Event(BaseModel):
    """One event to send. Without an ``event_id`` the client makes one before the first
    attempt, so a retried batch is counted once; without a ``timestamp`` the server's now."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str
    type: EventType
    item_id: str | None = None
    event_id: str | None = None
    quantity: float | None = None
    value: float | None = None
    timestamp: Timestamp | None = None
    context: dict[str, Any] | None = None


class EventBatchResult(Model):
    accepted: int
    duplicates: int
    rejected: list[IndexedErrors]


class EventsSent(EventBatchResult):
    """The sums over every batch one ``send_events`` call sent (``rejected`` indexes count
    from the first event given), and the ``event_ids`` used, in order: send the same ids again
    and the events are counted as duplicates, never twice."""

    batches: int = Field(description="how many POST /v1/events it took")
    event_ids: list[str]
