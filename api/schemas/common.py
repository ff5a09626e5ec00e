"""Field types and documents shared by the schemas (the validated field types live in
:mod:`core.fields`, shared with the event-file importer)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    GetJsonSchemaHandler,
    StringConstraints,
    TypeAdapter,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from core.fields import Attributes, FiniteFloat, Identifier, json_size_limit

__all__ = [
    "Attributes",
    "CategoryFilter",
    "DocumentedAs",
    "ErrorDetail",
    "FiniteFloat",
    "Identifier",
    "IndexedErrors",
    "ProblemPublic",
    "Timestamp",
    "json_size_limit",
]

#: Most categories one ``category=`` filter names.
MAX_FILTER_CATEGORIES = 100


def _categories(value: str) -> str:
    """``"bags, shoes,bags"`` -> ``"bags,shoes"``: one canonical spelling per set of categories
    (the serving caches key masks by it); each 1-128 printable characters."""
    parts = sorted({p.strip() for p in value.split(",")} - {""})
    if not parts:
        raise ValueError("name at least one category")
    if len(parts) > MAX_FILTER_CATEGORIES:
        raise ValueError(f"at most {MAX_FILTER_CATEGORIES} categories")
    for part in parts:
        if len(part) > 128 or not part.isprintable():
            raise ValueError("each category is 1-128 printable characters")
    return ",".join(parts)


#: ``category=``: one category, or several comma-separated (an item of any of them passes).
CategoryFilter = Annotated[
    str, StringConstraints(min_length=1, max_length=13_000), AfterValidator(_categories)
]


def _from_epoch(value: Any) -> Any:
    """Epoch seconds (how the store keeps times) as an aware UTC datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    return value


#: A time in an answer: RFC 3339 in UTC (``2026-12-02T19:50:00.837000Z``), from the store's
#: epoch seconds.
Timestamp = Annotated[datetime, BeforeValidator(_from_epoch)]


class DocumentedAs:
    """``Annotated[list[Any], DocumentedAs(list[Entry])]``: the document shows ``Entry`` field by
    field while validation takes any value, so that a batch is checked entry by entry by the
    router (a bad entry rejected by its index, the others stored)."""

    def __init__(self, documented: Any) -> None:
        self.adapter: TypeAdapter[Any] = TypeAdapter(documented)

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return handler(self.adapter.core_schema)


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str


class ProblemPublic(BaseModel):
    """RFC 9457 problem document answered for every error."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[ErrorDetail] | None = None


class IndexedErrors(BaseModel):
    """Errors of one element of a batch, by its index in the request."""

    index: int
    errors: list[ErrorDetail]
