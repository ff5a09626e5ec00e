"""RFC 9457 problem details: every error the API answers is ``application/problem+json``."""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from core.errors import Conflict, DomainError, InvalidInput, NotFound, Unavailable
from core.fields import error_loc

logger = logging.getLogger("atelier.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timeout",
    409: "Conflict",
    413: "Payload too large",
    414: "URI too long",
    415: "Unsupported media type",
    422: "Validation error",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class Problem(Exception):
    """Raise to answer a problem document; ``errors`` lists offending fields for validation."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        type_: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.type = type_


class MalformedBody(StarletteHTTPException):
    """A body that is not JSON or nests too deep: 422, as every body that cannot be read. An
    HTTPException so that FastAPI's body reading lets it through (``api.routing`` raises it)."""

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(422, detail)
        self.errors = errors


def problem_body(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    type_: str | None = None,
) -> bytes:
    """The JSON of a problem document (also written by :mod:`api.protocol_errors`, below the
    app)."""
    body: dict[str, Any] = {
        "type": type_ or f"https://atelier.dev/problems/{status}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return orjson.dumps(body)


def problem_response(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    type_: str | None = None,
) -> Response:
    return Response(
        problem_body(status, detail, errors=errors, type_=type_),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def problem_from(exc: Problem) -> Response:
    """The problem document of a raised :class:`Problem`."""
    return problem_response(
        exc.status, exc.detail, errors=exc.errors, headers=exc.headers, type_=exc.type
    )


def from_domain(exc: DomainError) -> Problem:
    """The one mapping of domain errors to problem documents."""
    if isinstance(exc, NotFound):
        return Problem(404, str(exc))
    if isinstance(exc, Conflict):
        return Problem(409, str(exc))
    if isinstance(exc, InvalidInput):
        return Problem(422, str(exc), errors=exc.errors)
    if isinstance(exc, Unavailable):
        retry = str(max(1, math.ceil(exc.retry_after)))
        return Problem(503, str(exc), headers={"Retry-After": retry})
    return Problem(400, str(exc))


def validation_errors(raw: list[Any]) -> list[dict[str, Any]]:
    """Pydantic errors reduced to ``{"loc": [...], "msg": ...}`` (inputs are not echoed back);
    a model-level check's error names its field (:func:`core.fields.error_loc`)."""
    return [{"loc": error_loc(e), "msg": str(e.get("msg", ""))} for e in raw]


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> Response:
        return problem_from(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Response:
        errors = validation_errors(list(exc.errors()))
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
        return problem_response(422, f"invalid input: {fields}", errors=errors)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> Response:
        return problem_from(from_domain(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers) if exc.headers else None
        errors = getattr(exc, "errors", None)  # MalformedBody's
        return problem_response(exc.status_code, str(exc.detail), errors=errors, headers=headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The type and traceback for the operator; never the request's body or headers.
        logger.error(
            "unexpected error",
            exc_info=exc,
            extra={"request_id": request.scope.get("state", {}).get("request_id")},
        )
        return problem_response(500, "unexpected error; the request was not applied")
