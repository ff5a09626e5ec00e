"""Validated field types shared by every edge that accepts input (HTTP bodies, event files).

They sit in ``core`` because both edges (``api`` and ``cli``) validate with them and neither may
import the other.

Examples
--------
>>> from pydantic import TypeAdapter
>>> TypeAdapter(Identifier).validate_python("sku-17")
'sku-17'
>>> TypeAdapter(FiniteFloat).validate_python(2)
2.0
>>> TypeAdapter(FiniteFloat).validate_python(False)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for function-after[...]
  Value error, must be a number, not bool [...]
...
>>> json_fault({"a": [1, {"b": float("nan")}]})
'a.1.b: must be a finite number'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from core.errors import InvalidInput


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must contain only printable characters")
    return value


#: The identifier rule as a JSON Schema pattern: no control characters. The check itself is
#: Python's ``str.isprintable`` (no other separator than the space, no format, surrogate,
#: private-use or unassigned character either), which no portable regex spells.
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]+$"
IDENTIFIER_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 128,
    "pattern": PRINTABLE_PATTERN,
    "description": "1-128 printable characters",
}

#: ``item_id``, ``customer_id``, ``product_id``, ``event_id``: 1-128 printable characters.
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    AfterValidator(_printable),
    WithJsonSchema(IDENTIFIER_SCHEMA),
]


#: JSON integers must fit in 64 bits (signed or unsigned): what every store and client reads.
INT_MIN, INT_MAX = -(2**63), 2**64 - 1


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _number(value: Any) -> Any:
    """Types are strict (API.md): a number field takes a JSON number, not ``false`` or ``"2"``
    (the event-file reader parses numbers before it validates), nor an integer beyond 64 bits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {type(value).__name__}")
    if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
        raise ValueError("must be an integer of at most 64 bits")
    return value


FiniteFloat = Annotated[float, BeforeValidator(_number), AfterValidator(_finite)]


def _text_fault(text: str) -> str | None:
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not hold a lone UTF-16 surrogate"
    return None


def _scalar_fault(value: Any) -> str | None:
    """Why a JSON leaf is not finite plain JSON, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        return _text_fault(value)
    if isinstance(value, int):
        return None if INT_MIN <= value <= INT_MAX else "must be an integer of at most 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else "must be a finite number"
    return f"is not a JSON value ({type(value).__name__})"


def json_fault(value: Any) -> str | None:
    """Why ``value`` is not finite, storable JSON (``path: reason``), or None when it is.

    The body parser lets NaN, infinities, integers beyond 64 bits and lone surrogates through so
    that validation can name the field that holds them; free-form fields refuse them here.
    """
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        v, path = stack.pop()
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str) or _text_fault(k):
                    return f"{path or 'key'}: keys must be text without lone surrogates"
                stack.append((x, f"{path}.{k}" if path else k))
        elif isinstance(v, list):
            stack.extend((x, f"{path}.{i}" if path else str(i)) for i, x in enumerate(v))
        elif (why := _scalar_fault(v)) is not None:
            return f"{path}: {why}" if path else why
    return None


def _finite_json(value: Any) -> Any:
    why = json_fault(value)
    if why is not None:
        raise ValueError(why)
    return value


#: A free-form JSON field that holds finite, storable JSON only (:func:`json_fault`).
finite_json = AfterValidator(_finite_json)


def json_size_limit(limit: int) -> AfterValidator:
    """Reject free-form JSON objects that are not finite plain JSON (:func:`json_fault`) or
    whose serialised size exceeds ``limit`` bytes."""

    def check(value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        why = json_fault(value)
        if why is not None:
            raise ValueError(why)
        if len(orjson.dumps(value)) > limit:
            raise ValueError(f"must serialise to at most {limit} bytes of JSON")
        return value

    return AfterValidator(check)


#: A profile's free-form attributes: finite plain JSON of at most 16 KiB.
Attributes = Annotated[dict[str, Any], json_size_limit(16_384)]


class FieldError(ValueError):
    """A check that needs several fields (a model validator) but is about one of them: its
    error names that field (:func:`error_loc`), so "quantity must be positive" carries
    ``["quantity"]``, not the model's empty ``loc``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def error_loc(error: Mapping[str, Any]) -> list[str | int]:
    """The ``loc`` of one pydantic error, a :class:`FieldError`'s field appended.

    >>> from pydantic import BaseModel, model_validator
    >>> class Line(BaseModel):
    ...     kind: str
    ...     quantity: int
    ...     @model_validator(mode="after")
    ...     def _rules(self):
    ...         if self.kind == "return" and self.quantity > 0:
    ...             raise FieldError("quantity", "a return's quantity is negative")
    ...         return self
    >>> from pydantic import ValidationError
    >>> try:
    ...     Line(kind="return", quantity=2)
    ... except ValidationError as exc:
    ...     error_loc(exc.errors()[0])
    ['quantity']
    """
    loc: list[str | int] = list(error.get("loc", ()))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc.append(cause.field)
    return loc


#: A time the server sets (``updated_at``, ...): a body taken from a GET may carry it back to a
#: PUT, where it is ignored. Either spelling a GET answers (RFC 3339 or epoch seconds).
ReadOnlyTime = Annotated[
    datetime | FiniteFloat | None,
    Field(None, description="read-only: ignored when sent", json_schema_extra={"readOnly": True}),
]
#: A flag the server sets (``has_profile``): ignored when a GET's body is sent back.
ReadOnlyFlag = Annotated[
    StrictBool | None,
    Field(None, description="read-only: ignored when sent", json_schema_extra={"readOnly": True}),
]


def same_id(sent: str | None, path_id: str, field: str) -> None:
    """A body taken from a GET names its own id: accepted when it is the path's, else 422."""
    if sent is not None and sent != path_id:
        raise InvalidInput(
            f"{field} '{sent}' in the body is not the path's '{path_id}'",
            errors=[{"loc": ["body", field], "msg": "must match the id in the path"}],
        )
