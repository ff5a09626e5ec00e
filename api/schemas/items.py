"""Catalog schemas."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Attributes, FiniteFloat, Identifier, IndexedErrors


class ItemCreate(BaseModel):
    """Body of ``PUT /v1/items/{item_id}``."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, max_length=512)
    category: str | None = Field(None, min_length=1, max_length=128)
    price: FiniteFloat | None = Field(None, ge=0, le=1e9)
    available: bool = True
    attributes: Attributes = Field(default_factory=dict)


class ItemBatchEntry(ItemCreate):
    item_id: Identifier


class ItemBatch(BaseModel):
    """Body of ``POST /v1/items/batch``; entries are validated one by one."""

    items: list[dict[str, object]]


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
    updated_at: float
