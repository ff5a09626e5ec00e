"""What happens after a write: the Interact step's fan-out to the parts that learn from it.

Features register listeners in their ``install(app)``; the routers that write call them after
the store committed, so a listener never sees data that was not stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.records import Event

EventListener = Callable[[str, list[Event]], None]
ShutdownListener = Callable[[], None]
ErasureListener = Callable[[str, str], None]


@dataclass
class Hooks:
    #: Called with (tenant, newly stored events) after each accepted batch.
    on_events: list[EventListener] = field(default_factory=list)
    #: Called with (tenant, customer_id) after a customer was erased from the store.
    on_erasure: list[ErasureListener] = field(default_factory=list)
    #: Named readiness checks for /readyz, beside the store's.
    readiness: dict[str, Callable[[], bool]] = field(default_factory=dict)
    #: Called when the app stops, before the store closes (end background work that reads it).
    on_shutdown: list[ShutdownListener] = field(default_factory=list)

    def events_stored(self, tenant: str, events: list[Event]) -> None:
        for listener in self.on_events:
            listener(tenant, events)

    def customer_erased(self, tenant: str, customer_id: str) -> None:
        for listener in self.on_erasure:
            listener(tenant, customer_id)

    def shutdown(self) -> None:
        for listener in self.on_shutdown:
            listener()
