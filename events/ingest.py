"""The one way events enter Atelier: weigh them, store them atomically, tell the listeners.

``POST /v1/events``, ``atelier import events``, the demo loader and the benchmarks all call
:func:`ingest`, so every event gets the same history-row weight (the serving weighting of
:mod:`recommender.interactions`) in the same transaction as the event, and the same listeners
(insights refresh, ...) hear of it only after the store committed.

Examples
--------
>>> from store.embedded import SQLiteStore                     # doctest: +SKIP
>>> done = ingest(store, "shop", [Event("e1", "c1", "purchase", 0.0, item_id="i1")])  # doctest: +SKIP
>>> done.accepted, done.duplicates                              # doctest: +SKIP
(1, 0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from core.records import Event
from recommender.interactions import weigh_events
from store.base import Store

EventListener = Callable[[str, list[Event]], None]
ErasureListener = Callable[[str, str], None]


@dataclass
class Listeners:
    """The parts that learn from writes: called after the store committed, never before."""

    #: Called with (tenant, newly stored events) after each accepted batch.
    on_events: list[EventListener] = field(default_factory=list)
    #: Called with (tenant, customer_id) after a customer was erased from the store.
    on_erasure: list[ErasureListener] = field(default_factory=list)

    def events_stored(self, tenant: str, events: list[Event]) -> None:
        for listener in self.on_events:
            listener(tenant, events)

    def customer_erased(self, tenant: str, customer_id: str) -> None:
        for listener in self.on_erasure:
            listener(tenant, customer_id)


@dataclass(frozen=True, slots=True)
class Ingested:
    """What :func:`ingest` did: new events stored, and repeats of ids already held."""

    accepted: int
    duplicates: int
    stored: list[Event]


def ingest(
    store: Store, tenant: str, events: Sequence[Event], listeners: Listeners | None = None
) -> Ingested:
    """Store validated events idempotently, durably and all at once, then notify ``listeners``.

    A repeated ``event_id`` (already stored, or earlier in the batch) is a duplicate, not an
    error. Each new event with an item adds its weight to the customer's history row in the
    same transaction, so the next recommendation already sees it.
    """
    if not events:
        return Ingested(0, 0, [])
    flags = store.add_events(tenant, events, weigh_events(events).tolist())
    stored = [e for e, new in zip(events, flags, strict=True) if new]
    if stored and listeners is not None:
        listeners.events_stored(tenant, stored)
    return Ingested(len(stored), len(flags) - len(stored), stored)
