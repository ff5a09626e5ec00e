"""Catalog schemas, and how they map to the catalog's :class:`~core.records.Item` records."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.schemas.common import (
    Attributes,
    DocumentedAs,
    FiniteFloat,
    Identifier,
    IndexedErrors,
    Timestamp,
)
from core.fields import ReadOnlyTime, same_id
from core.records import Item


class ItemCreate(BaseModel):
    """Body of ``PUT /v1/items/{item_id}``: what ``GET`` answered can be sent back as it is
    (``item_id`` must be the path's, ``updated_at`` is ignored)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": "Slim jeans",
                    "category": "jeans",
                    "price": 79.0,
                    "available": True,
                    "attributes": {"color": "indigo", "fit": "slim"},
                }
            ]
        },
    )

    item_id: Identifier | None = Field(None, description="optional; must match the path")
    updated_at: ReadOnlyTime = None

    title: str | None = Field(None, max_length=512)
    category: str | None = Field(None, min_length=1, max_length=128)
    price: FiniteFloat | None = Field(None, ge=0, le=1e9)
    available: StrictBool = True
    attributes: Attributes = Field(default_factory=dict)

    def to_record(self, item_id: str) -> Item:
        same_id(self.item_id, item_id, "item_id")
        return Item(
            item_id=item_id,
            title=self.title,
            category=self.category,
            price=self.price,
            available=self.available,
            attributes=self.attributes,
        )


class ItemBatchEntry(ItemCreate):
    item_id: Identifier


class ItemBatch(BaseModel):
    """Body of ``POST /v1/items/batch``; entries are validated one by one (a bad one is
    rejected by its index, the others are stored)."""

    items: Annotated[list[Any], DocumentedAs(list[ItemBatchEntry])] = Field(
        description="up to 10,000 items"
    )


class ItemBatchResult(BaseModel):
    upserted: int
    errors: list[IndexedErrors]


class ItemPublic(BaseModel):
    item_id: str
    title: str | None
    category: str | None
    price: float | None
    available: bool
    attributes: dict[str, object]
    updated_at: Timestamp

    @classmethod
    def of(cls, item: Item) -> ItemPublic:
        return cls(
            item_id=item.item_id,
            title=item.title,
            category=item.category,
            price=item.price,
            available=item.available,
            attributes=item.attributes,
            updated_at=item.updated_at,
        )


class ItemLookup(BaseModel):
    """Several items at once, in the order asked; ids the catalog does not hold in ``missing``."""

    items: list[ItemPublic]
    missing: list[str]
