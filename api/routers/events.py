"""Event ingestion: ``POST /v1/events`` (idempotent, partial acceptance, durable before 202)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from pydantic import ValidationError

from api.deps import EventsKey, ListenersDep, SettingsDep, StoreDep
from api.middleware import EVENTS_INGESTED
from api.problems import Problem, validation_errors
from api.routing import StrictJSONRoute
from api.schemas.common import IndexedErrors
from api.schemas.events import EventBatch, EventBatchResult, EventCreate
from core.records import Event
from events.ingest import ingest

router = APIRouter(prefix="/v1/events", tags=["events"], route_class=StrictJSONRoute)


@router.post("", status_code=202, response_model=EventBatchResult)
def post_events(
    body: EventBatch,
    key: EventsKey,
    store: StoreDep,
    settings: SettingsDep,
    listeners: ListenersDep,
) -> EventBatchResult:
    """Validate each event on its own, store the valid ones atomically, report the rest."""
    if len(body.events) > settings.max_batch_events:
        raise Problem(
            413,
            f"{len(body.events)} events in one batch; at most {settings.max_batch_events}",
            errors=[{"loc": ["body", "events"], "msg": "too many events"}],
        )
    now = time.time()
    context = {"max_future_s": settings.max_future_skew_s}
    valid: list[Event] = []
    rejected: list[IndexedErrors] = []
    for index, raw in enumerate(body.events):
        try:
            event = EventCreate.model_validate(raw, context=context)
        except ValidationError as exc:
            rejected.append(
                IndexedErrors.model_validate(
                    {"index": index, "errors": validation_errors(list(exc.errors()))}
                )
            )
            continue
        valid.append(event.to_record(now))
    done = ingest(store, key.tenant, valid, listeners)
    EVENTS_INGESTED.labels(key.tenant, "accepted").inc(done.accepted)
    EVENTS_INGESTED.labels(key.tenant, "duplicate").inc(done.duplicates)
    EVENTS_INGESTED.labels(key.tenant, "rejected").inc(len(rejected))
    return EventBatchResult(accepted=done.accepted, duplicates=done.duplicates, rejected=rejected)
