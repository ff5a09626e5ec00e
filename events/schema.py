"""The validation every incoming event passes, whichever edge it comes through.

``POST /v1/events`` (:mod:`api.routers.events`) and the event-file reader (:mod:`events.files`,
behind ``atelier import events`` and ``atelier train --events``) validate each event with
:class:`EventCreate`, so a file row is accepted or rejected exactly as the same event posted over
HTTP. It is a pydantic model because it is the contract of both edges; it lives here, below them,
because the command line never imports the web app.

Examples
--------
>>> e = EventCreate.model_validate({"event_id": "e1", "customer_id": "c1", "item_id": "i1",
...                                 "type": "return", "quantity": -2, "timestamp": 1.3e9})
>>> e.quantity, e.to_record(now=0.0).timestamp
(2.0, 1300000000.0)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from core.fields import FieldError, FiniteFloat, Identifier, json_size_limit
from core.records import Event, EventType

#: Types that must name the item they are about (``configure`` may name a product instead).
ITEM_REQUIRED = frozenset(
    {"view", "add_to_cart", "purchase", "return", "rating", "dislike", "impression", "click"}
)
MAX_QUANTITY = 100_000
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
#: How far ahead of now a timestamp may be when the caller does not say (``max_future_s``).
DEFAULT_MAX_FUTURE_S = 300


class EventCreate(BaseModel):
    """One event of ``POST /v1/events`` (or one row of an event file).

    ``quantity`` must be positive; a ``return`` may carry the retail convention of a negative
    quantity, stored as its absolute value. ``value`` is the line's money value (purchase,
    return) or the rating (0-10, required for ``rating``). A timestamp without an offset is
    taken as UTC; a missing one means now; one more than ``max_future_s`` (validation context)
    ahead is rejected.
    """

    model_config = ConfigDict(extra="forbid")

    event_id: Identifier
    customer_id: Identifier
    item_id: Identifier | None = None
    type: EventType
    quantity: FiniteFloat | None = None
    value: FiniteFloat | None = Field(None, ge=-1e9, le=1e9)
    timestamp: datetime | None = None
    context: Annotated[dict[str, Any], json_size_limit(4096)] | None = None

    @model_validator(mode="after")
    def _rules(self, info: ValidationInfo) -> EventCreate:
        if self.type in ITEM_REQUIRED and self.item_id is None:
            raise FieldError("item_id", f"item_id is required for '{self.type}' events")
        q = self.quantity
        if q is not None:
            if self.type == "return" and q < 0:
                q = self.quantity = -q
            if q <= 0:
                raise FieldError("quantity", "quantity must be positive")
            if q > MAX_QUANTITY:
                raise FieldError("quantity", f"quantity above {MAX_QUANTITY} is implausible")
        if self.type == "rating":
            if self.value is None:
                raise FieldError("value", "value (the rating) is required for 'rating' events")
            if not 0 <= self.value <= 10:
                raise FieldError("value", "a rating value must lie between 0 and 10")
        elif self.type in ("purchase", "return") and self.value is not None and self.value < 0:
            raise FieldError("value", "value (money) must not be negative")
        if self.timestamp is not None:
            ts = self.timestamp
            if ts.tzinfo is None:
                ts = self.timestamp = ts.replace(tzinfo=UTC)
            skew = (info.context or {}).get("max_future_s", DEFAULT_MAX_FUTURE_S)
            if ts.timestamp() > time.time() + skew:
                raise FieldError("timestamp", f"timestamp is more than {skew} s in the future")
            if ts < EARLIEST:
                raise FieldError("timestamp", "timestamp is before 1990")
        return self

    def to_record(self, now: float) -> Event:
        """The stored record; an event without a timestamp happened ``now``."""
        return Event(
            event_id=self.event_id,
            customer_id=self.customer_id,
            type=self.type,
            timestamp=self.timestamp.timestamp() if self.timestamp else now,
            item_id=self.item_id,
            quantity=self.quantity,
            value=self.value,
            context=self.context,
        )
