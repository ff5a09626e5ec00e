"""Validated field types shared by every edge that accepts input (HTTP bodies, event files).

They sit in ``core`` because both edges (``api`` and ``cli``) validate with them and neither may
import the other.

Examples
--------
>>> from pydantic import TypeAdapter
>>> TypeAdapter(Identifier).validate_python("sku-17")
'sku-17'
>>> TypeAdapter(FiniteFloat).validate_python("2.5")
2.5
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, StringConstraints


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
