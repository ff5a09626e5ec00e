"""How records become stored documents and back, shared by every backend.

- **One JSON library**: orjson (numpy values and non-string keys accepted, as the callers hand
  them over). A value JSON cannot hold as stored, such as an integer beyond 64 bits, raises
  :class:`UnstorableValue` with the reason instead of a bare ``TypeError`` from deep inside;
  NaN and infinities are stored as null, as strict JSON has no such numbers.
- **One document per record**: an item, a customer, a model, a saved configuration is stored as
  the document built here (the backends add only the keys or columns they look rows up by); an
  event keeps the same fields whether it is a Redis document or a SQLite row.
- **One tombstone rule**: a deleted item keeps its document marked ``deleted``. It is never
  served as live (``get_item``, ``iter_items``); it still comes back, with ``available=False``,
  from ``items_changed_since`` and ``iter_items(include_deleted=True)``, so every worker drops it
  from what it recommends; upserting it again creates it anew.
- **One list of what erasure deletes**: :data:`CUSTOMER_DATA`. Each backend maps every kind to
  its erasure step through :func:`erasure_steps`, which refuses a backend that misses one.

Examples
--------
>>> doc = item_doc(Item("a", title="Shirt"), updated_at=1.0)
>>> live_item("a", doc).title
'Shirt'
>>> live_item("a", tombstone(doc, updated_at=2.0)) is None
True
>>> decode_item("a", tombstone(doc, updated_at=2.0))[0].available
False
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, TypeVar

import orjson

from core.errors import InvalidInput
from core.records import ApiKey, Customer, Event, Item
from store.protocols import ModelVersion

T = TypeVar("T")

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


class UnstorableValue(InvalidInput):
    """A value the store's JSON cannot hold (an integer beyond 64 bits, a set, ...)."""


def dumps(obj: Any) -> str:
    """The stored JSON text of ``obj``."""
    try:
        return orjson.dumps(obj, option=_OPTIONS).decode()
    except orjson.JSONEncodeError as exc:
        raise UnstorableValue(
            f"cannot store this value: {exc} (stored numbers are 64-bit integers or floats)"
        ) from exc


def loads(doc: str | bytes) -> Any:
    """The value of a stored JSON text."""
    return orjson.loads(doc)


# -- catalog ------------------------------------------------------------------------------------
def item_doc(item: Item, updated_at: float, *, deleted: bool = False) -> str:
    """The stored document of an item: what the tenant said, when, and the tombstone flag."""
    return dumps({**item.content(), "deleted": deleted, "updated_at": updated_at})


def tombstone(doc: str, updated_at: float) -> str:
    """The document of a deleted item: its content kept, marked deleted."""
    return dumps({**loads(doc), "deleted": True, "updated_at": updated_at})


def is_live(doc: str | None) -> bool:
    """True when ``doc`` holds an item that is not deleted (an upsert over it is no creation)."""
    return doc is not None and not loads(doc)["deleted"]


def decode_item(item_id: str, doc: str) -> tuple[Item, bool]:
    """``(item, deleted)``; a deleted item comes back with ``available=False``."""
    fields = loads(doc)
    deleted = bool(fields.pop("deleted"))
    item = Item(item_id=item_id, **fields)
    if deleted:
        item.available = False
    return item, deleted


def live_item(item_id: str, doc: str | None) -> Item | None:
    """The item of ``doc`` unless it is absent or a tombstone."""
    if doc is None:
        return None
    item, deleted = decode_item(item_id, doc)
    return None if deleted else item


# -- customers ----------------------------------------------------------------------------------
def customer_doc(customer: Customer, created_at: float, updated_at: float) -> str:
    """The stored document of a profile (the id is the key it is stored under)."""
    return dumps(
        {
            "attributes": customer.attributes,
            "consent_personalization": customer.consent_personalization,
            "account_manager": customer.account_manager,
            "consent_channels": customer.consent_channels,
            "created_at": created_at,
            "updated_at": updated_at,
        }
    )


def decode_customer(customer_id: str, doc: str) -> Customer:
    return Customer(customer_id=customer_id, **loads(doc))


def merge_profiles(into: str, target: Customer | None, sources: list[Customer]) -> Customer | None:
    """The profile of a merged customer: the target's fields, with the attributes it lacks
    taken from the sources (earlier sources first); without a target profile, the first
    source's becomes it. None when nobody had a profile.

    >>> a, b = Customer("a", {"x": 1}), Customer("b", {"x": 2, "y": 3}, account_manager="m")
    >>> merged = merge_profiles("a", a, [b])
    >>> merged.attributes, merged.account_manager
    ({'x': 1, 'y': 3}, None)
    >>> merge_profiles("a", None, [b]).account_manager
    'm'
    """
    profiles = ([target] if target is not None else []) + sources
    if not profiles:
        return None
    base = profiles[0]
    attributes: dict[str, Any] = {}
    for profile in reversed(profiles):
        attributes.update(profile.attributes)
    channels: dict[str, bool] = {}
    for profile in reversed(profiles):
        channels.update(profile.consent_channels)
    return Customer(
        customer_id=into,
        attributes=attributes,
        consent_personalization=base.consent_personalization,
        account_manager=base.account_manager,
        consent_channels=channels,
        created_at=min(p.created_at for p in profiles),
    )


# -- events -------------------------------------------------------------------------------------
def event_row(e: Event) -> tuple[Any, ...]:
    """An event as row values: id, customer, item, type, time, quantity, value, context JSON.

    An empty context is stored as none, so it reads back as ``None`` from every backend.
    """
    context = dumps(e.context) if e.context else None
    return (e.event_id, e.customer_id, e.item_id, e.type, e.timestamp, e.quantity, e.value, context)


def event_from_row(row: tuple[Any, ...]) -> Event:
    event_id, customer_id, item_id, typ, ts, qty, val, context = row
    return Event(
        event_id=event_id,
        customer_id=customer_id,
        type=typ,
        timestamp=ts,
        item_id=item_id,
        quantity=qty,
        value=val,
        context=loads(context) if context else None,
    )


def event_doc(e: Event) -> str:
    """An event as one document: the fields of :func:`event_row` under short keys."""
    return dumps(
        {
            "i": e.event_id,
            "c": e.customer_id,
            "it": e.item_id,
            "t": e.type,
            "ts": e.timestamp,
            "q": e.quantity,
            "v": e.value,
            "x": e.context or None,
        }
    )


def decode_event(doc: str) -> Event:
    d = loads(doc)
    return Event(
        event_id=d["i"],
        customer_id=d["c"],
        type=d["t"],
        timestamp=d["ts"],
        item_id=d["it"],
        quantity=d["q"],
        value=d["v"],
        context=d["x"] or None,
    )


# -- keys, models, configurations ---------------------------------------------------------------
#: The stored fields of an API key (besides the hash of its secret).
KEY_FIELDS = ("key_id", "tenant", "scopes", "label", "created_at", "revoked")


def key_fields(key: ApiKey) -> dict[str, Any]:
    """An API key as flat fields (SQLite columns, a Redis hash)."""
    return {
        "key_id": key.key_id,
        "tenant": key.tenant,
        "scopes": ",".join(sorted(key.scopes)),
        "label": key.label or "",
        "created_at": key.created_at,
        "revoked": int(key.revoked),
    }


def decode_key(values: Sequence[Any]) -> ApiKey:
    """The key of :func:`key_fields` values in :data:`KEY_FIELDS` order, as either backend hands
    them back (typed columns, or a Redis hash's text)."""
    key_id, tenant, scopes, label, created_at, revoked = values
    return ApiKey(
        key_id,
        tenant,
        frozenset(filter(None, scopes.split(","))),
        float(created_at),
        revoked in (1, "1"),
        label or None,
    )


def model_doc(metrics: dict[str, Any], created_at: float) -> str:
    return dumps({"metrics": metrics, "created_at": created_at})


def decode_model(version: str, doc: str, active: str | None) -> ModelVersion:
    d = loads(doc)
    return ModelVersion(version, d["metrics"], d["created_at"], version == active)


def configuration_doc(
    configuration: dict[str, Any], configuration_id: str, created_at: float
) -> str:
    """A saved configuration as stored and listed: the spec with its id and time."""
    return dumps({**configuration, "configuration_id": configuration_id, "created_at": created_at})


# -- erasure ------------------------------------------------------------------------------------
class CustomerData(StrEnum):
    """The kinds of customer data the store holds; an erasure deletes every one of them."""

    #: The profile the tenant supplied, and its entry in the account manager's list.
    PROFILE = "profile"
    #: The customer's events, their idempotency ids and their share of the event count.
    EVENTS = "events"
    #: The history row: per-item weights, purchased flags, last times, interaction kinds.
    HISTORY = "history"
    #: The customer's serving version (the absent customer then reads as minus the erasures).
    SERVING_VERSION = "serving_version"
    #: The customer's insights row (value, tier, next best actions).
    INSIGHTS = "insights"
    #: The customer's insights entry at each job run (tier and stage migrations).
    INSIGHTS_HISTORY = "insights_history"
    #: The customer's saved configurations.
    CONFIGURATIONS = "configurations"
    #: Contacts with the customer (calls, visits, mails) and their notes.
    CONTACTS = "contacts"
    #: The customer's service cases (complaints, repairs, returns).
    CASES = "cases"
    #: The customer's answers to the tenant's questions (facts on the profile).
    ANSWERS = "answers"
    #: The ids merged into the customer (and their serving versions).
    ALIASES = "aliases"


#: What ``erase_customer`` deletes, in the order the backends run their steps.
CUSTOMER_DATA: tuple[CustomerData, ...] = tuple(CustomerData)


def erasure_steps(backend: str, steps: Mapping[CustomerData, T]) -> list[T]:
    """A backend's erasure step of each kind, in :data:`CUSTOMER_DATA` order.

    Raises when a kind has no step, so a new kind of customer data cannot be forgotten by a
    backend: its module fails on import.
    """
    missing = [kind.value for kind in CUSTOMER_DATA if kind not in steps]
    if missing:
        raise RuntimeError(f"the {backend} store does not erase {', '.join(missing)}")
    return [steps[kind] for kind in CUSTOMER_DATA]
