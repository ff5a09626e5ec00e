"""The catalog: items as the API answers them, and what a batch upsert reports."""

from __future__ import annotations

from typing import Any

from atelier_client.models._base import Model, Timestamp
from atelier_client.models.common import IndexedErrors


class ItemPublic(Model):
    item_id: str
    title: str | None
    category: str | None
    price: float | None
    available: bool
    attributes: dict[str, Any]
    updated_at: Timestamp


class ItemBatchResult(Model):
    upserted: int
    errors: list[IndexedErrors]


class ItemLookup(Model):
    """Several items at once, in the order asked; ids the catalog does not hold in ``missing``."""

    items: list[ItemPublic]
    missing: list[str]
