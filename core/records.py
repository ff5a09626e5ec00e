"""Plain records that cross the storage boundary: what the store keeps and hands back.

The HTTP layer validates input into these; the store persists them; offline jobs read events back
as one columnar :class:`EventFrame` (numpy arrays), never as one object per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

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
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

#: The interaction kinds a history row remembers per item, one bit each (``kind_bit``): what a
#: tenant's policy can name as "the customer already has it". Impressions are shown, not done.
INTERACTION_KINDS: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t != "impression")
_KIND_BITS: dict[str, int] = {t: 1 << i for i, t in enumerate(INTERACTION_KINDS)}


def kind_bit(event_type: str) -> int:
    """The bit of an interaction kind in a history row's ``kinds`` mask (0 for impressions).

    >>> kind_bit("view"), kind_bit("purchase"), kind_bit("impression")
    (1, 4, 0)
    """
    return _KIND_BITS.get(event_type, 0)


#: The contact channels a customer consents to one by one (API.md, Customers).
CONSENT_CHANNELS: tuple[str, ...] = ("email", "phone", "sms", "post")

SCOPES: tuple[str, ...] = ("events", "catalog", "customers", "recommend", "configure", "admin")


@dataclass(slots=True)
class Item:
    """A catalog entry; ``deleted`` items are kept as tombstones so they are never recommended."""

    item_id: str
    title: str | None = None
    category: str | None = None
    price: float | None = None
    available: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)
    updated_at: float = 0.0

    def content(self) -> dict[str, Any]:
        """What the tenant said about the item (what the backends store as its document)."""
        return {
            "title": self.title,
            "category": self.category,
            "price": self.price,
            "available": self.available,
            "attributes": self.attributes,
        }


@dataclass(slots=True)
class Customer:
    """A customer profile as supplied by the tenant (events may exist without one)."""

    customer_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    consent_personalization: bool = True
    account_manager: str | None = None
    #: Consent per contact channel (``email``, ``phone``, ``sms``, ``post``); a channel not
    #: listed has no consent and is never proposed.
    consent_channels: dict[str, bool] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


@dataclass(slots=True)
class Event:
    """One validated interaction. ``timestamp`` is POSIX seconds (UTC)."""

    event_id: str
    customer_id: str
    type: str
    timestamp: float
    item_id: str | None = None
    quantity: float | None = None
    value: float | None = None
    context: dict[str, Any] | None = None


@dataclass(slots=True)
class ApiKey:
    """A stored key: only the SHA-256 of the secret is kept."""

    key_id: str
    tenant: str
    scopes: frozenset[str]
    created_at: float
    revoked: bool = False
    label: str | None = None


@dataclass(slots=True)
class EventFrame:
    """Events as parallel numpy columns, the batch format of training and evaluation jobs.

    ``customer_id``, ``item_id`` and ``type`` are object arrays of ``str`` (``item_id`` may hold
    ``""`` for events without an item); ``quantity`` and ``value`` are float64 with NaN for
    "not given"; ``timestamp`` is float64 POSIX seconds.

    Examples
    --------
    >>> f = EventFrame.from_events([Event("e1", "c1", "purchase", 0.0, item_id="i1", quantity=2)])
    >>> f.customer_id.tolist(), f.quantity.tolist()
    (['c1'], [2.0])
    """

    customer_id: np.ndarray
    item_id: np.ndarray
    type: np.ndarray
    timestamp: np.ndarray
    quantity: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    @classmethod
    def empty(cls) -> EventFrame:
        obj = np.empty(0, dtype=object)
        num = np.empty(0, dtype=np.float64)
        return cls(obj, obj.copy(), obj.copy(), num, num.copy(), num.copy())

    @classmethod
    def from_events(cls, events: list[Event]) -> EventFrame:
        n = len(events)
        cust = np.empty(n, dtype=object)
        item = np.empty(n, dtype=object)
        typ = np.empty(n, dtype=object)
        ts = np.empty(n, dtype=np.float64)
        qty = np.full(n, np.nan)
        val = np.full(n, np.nan)
        for i, e in enumerate(events):
            cust[i] = e.customer_id
            item[i] = e.item_id or ""
            typ[i] = e.type
            ts[i] = e.timestamp
            if e.quantity is not None:
                qty[i] = e.quantity
            if e.value is not None:
                val[i] = e.value
        return cls(cust, item, typ, ts, qty, val)

    @classmethod
    def concat(cls, frames: list[EventFrame]) -> EventFrame:
        if not frames:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(f, name) for f in frames])
                for name in ("customer_id", "item_id", "type", "timestamp", "quantity", "value")
            )
        )

    def select(self, mask: np.ndarray) -> EventFrame:
        """Rows where ``mask`` is true (or the given index array), as a new frame."""
        return EventFrame(
            self.customer_id[mask],
            self.item_id[mask],
            self.type[mask],
            self.timestamp[mask],
            self.quantity[mask],
            self.value[mask],
        )


class FrameBuilder:
    """Build an :class:`EventFrame` from rows as they are read, without a Python object per
    event: numbers go into float64 chunks, and each distinct id or type string is kept once
    (the read's own copy of a repeated id is dropped with its chunk).

    Examples
    --------
    >>> b = FrameBuilder(chunk=2)
    >>> for n in range(3):
    ...     b.add("c1", f"i{n % 2}", "view", float(n), None, 9.5)
    >>> f = b.frame()
    >>> f.item_id.tolist(), f.quantity.tolist(), f.customer_id[0] is f.customer_id[2]
    (['i0', 'i1', 'i0'], [nan, nan, nan], True)
    """

    def __init__(self, chunk: int = 65536) -> None:
        self.chunk = chunk
        self._strings: dict[str, str] = {}
        self._rows: list[tuple[str, str, str, float, float, float]] = []
        self._parts: list[EventFrame] = []

    def add(
        self,
        customer_id: str,
        item_id: str | None,
        type_: str,
        timestamp: float,
        quantity: float | None,
        value: float | None,
    ) -> None:
        """One event's fields (``None`` item: ``""``; ``None`` quantity or value: NaN)."""
        keep = self._strings.setdefault
        self._rows.append(
            (
                keep(customer_id, customer_id),
                keep(item_id or "", item_id or ""),
                keep(type_, type_),
                timestamp,
                np.nan if quantity is None else quantity,
                np.nan if value is None else value,
            )
        )
        if len(self._rows) >= self.chunk:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        cust, item, typ, ts, qty, val = zip(*self._rows, strict=True)
        self._rows = []
        self._parts.append(
            EventFrame(
                np.array(cust, dtype=object),
                np.array(item, dtype=object),
                np.array(typ, dtype=object),
                np.array(ts, dtype=np.float64),
                np.array(qty, dtype=np.float64),
                np.array(val, dtype=np.float64),
            )
        )

    def frame(self) -> EventFrame:
        """Every event added, in the order added."""
        self._flush()
        frame = EventFrame.concat(self._parts)
        self._parts = []
        return frame
