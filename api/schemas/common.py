"""Field types shared by the schemas."""

from __future__ import annotations

import math
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, Field, StringConstraints


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must contain only printable characters")
    return value


#: ``item_id``, ``customer_id``, ``product_id``, ``event_id``: 1-128 printable characters.
Identifier = Annotated[
    str, StringConstraints(min_length=1, max_length=128), AfterValidator(_printable)
]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


FiniteFloat = Annotated[float, AfterValidator(_finite)]


def json_size_limit(limit: int) -> AfterValidator:
    """Reject free-form JSON objects whose serialised size exceeds ``limit`` bytes."""

    def check(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(orjson.dumps(value)) > limit:
            raise ValueError(f"must serialise to at most {limit} bytes of JSON")
        return value

    return AfterValidator(check)


Attributes = Annotated[dict[str, Any], json_size_limit(16_384)]


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


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemPublic, "content": {"application/problem+json": {}}}
    for code in (401, 403, 404, 413, 422, 429)
}

PositiveInt = Annotated[int, Field(ge=1)]
