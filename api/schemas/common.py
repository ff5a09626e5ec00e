"""Field types and documents shared by the schemas (the validated field types live in
:mod:`core.fields`, shared with the event-file importer)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from core.fields import Attributes, FiniteFloat, Identifier, json_size_limit

__all__ = [
    "PROBLEM_RESPONSES",
    "Attributes",
    "ErrorDetail",
    "FiniteFloat",
    "Identifier",
    "IndexedErrors",
    "ProblemPublic",
    "json_size_limit",
]


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
    for code in (400, 401, 403, 404, 413, 422, 429, 503)
}
