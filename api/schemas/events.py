"""Event schemas of ``POST /v1/events``; each event is validated by :class:`EventCreate`
(:mod:`events.schema`, shared with the event-file importer)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import DocumentedAs, IndexedErrors
from events.schema import EventCreate

__all__ = ["EventBatch", "EventBatchResult", "EventCreate"]


class EventBatch(BaseModel):
    """Body of ``POST /v1/events``; each event is validated on its own (partial acceptance)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "events": [
                        {
                            "event_id": "order-1001-1",
                            "customer_id": "cust-42",
                            "item_id": "sku-17",
                            "type": "purchase",
                            "quantity": 1,
                            "value": 79.0,
                            "timestamp": "2026-11-30T10:15:00Z",
                        },
                        {
                            "event_id": "view-77",
                            "customer_id": "cust-42",
                            "item_id": "sku-18",
                            "type": "view",
                        },
                    ]
                }
            ]
        }
    )

    events: Annotated[list[Any], DocumentedAs(list[EventCreate])] = Field(
        description="up to 10,000 events"
    )


class EventBatchResult(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[IndexedErrors]
