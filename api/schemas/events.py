"""Event schemas of ``POST /v1/events``; each event is validated by :class:`EventCreate`
(:mod:`events.schema`, shared with the event-file importer)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from api.schemas.common import IndexedErrors
from events.schema import EventCreate

__all__ = ["EventBatch", "EventBatchResult", "EventCreate"]


class EventBatch(BaseModel):
    """Body of ``POST /v1/events``; each event is validated on its own (partial acceptance)."""

    events: list[Any]


class EventBatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[IndexedErrors]
