"""One exception class per problem type the API answers (RFC 9457 problem documents).

Every error answer of the API is ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``; validation errors add ``errors: [{"loc": [...], "msg": ...}]``. The
client raises the class of the problem's status, so callers catch what they can handle
(``except NotFound``) and read the field that was wrong from ``loc``.

Examples
--------
>>> import httpx
>>> body = {"type": "https://atelier.dev/problems/422", "title": "Validation error",
...         "status": 422, "detail": "invalid input: body.price",
...         "errors": [{"loc": ["body", "price"], "msg": "must be a finite number"}]}
>>> err = problem_error(httpx.Response(422, json=body))
>>> type(err).__name__, err.status, err.loc
('ValidationFailed', 422, ['body', 'price'])
>>> problem_error(httpx.Response(502, text="bad gateway")).title
'Bad Gateway'
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import httpx

__all__ = [
    "ApiError",
    "AtelierError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "Unauthorized",
    "ValidationFailed",
    "problem_error",
    "retry_after_seconds",
]


class AtelierError(Exception):
    """Base of every error this client raises."""


class ApiError(AtelierError):
    """The API answered an error (a problem document): its fields, and ``loc`` of the first
    offending field (``[]`` when the problem names none)."""

    status_code: ClassVar[int | None] = None

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type: str = "about:blank",
        errors: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.errors = errors or []
        self.retry_after = retry_after

    @property
    def loc(self) -> list[str | int]:
        """Where the (first) invalid input is, e.g. ``["body", "events", 3, "quantity"]``."""
        return list(self.errors[0].get("loc", [])) if self.errors else []


class BadRequest(ApiError):
    status_code = 400


class Unauthorized(ApiError):
    """No key, or one the API does not know."""

    status_code = 401


class Forbidden(ApiError):
    """The key lacks the scope the operation needs."""

    status_code = 403


class NotFound(ApiError):
    """Unknown here, or another tenant's (the API does not tell them apart)."""

    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class ValidationFailed(ApiError):
    """Bad input: ``errors`` lists each field (``loc``) and why (``msg``)."""

    status_code = 422


class RateLimited(ApiError):
    """Too many requests for this key; ``retry_after`` says when to come back."""

    status_code = 429


class ServiceUnavailable(ApiError):
    """The store is unreachable (or the service not ready); ``retry_after`` in seconds."""

    status_code = 503


class ServerError(ApiError):
    """Any other 5xx (a defect of the service, or a proxy in front of it)."""


_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status_code: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        ValidationFailed,
        RateLimited,
        ServiceUnavailable,
    )
    if cls.status_code is not None
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delay-seconds or an HTTP date), or None when absent/invalid."""
    raw = response.headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        date = response.headers.get("date")
        now = parsedate_to_datetime(date) if date else datetime.now(UTC)
        seconds = (when - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def problem_error(response: httpx.Response) -> ApiError:
    """The exception for an error answer; a body that is not a problem document (a proxy's
    page) still gives the status, its reason phrase as title and the text as detail."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    errors = body.get("errors")
    return cls(
        status,
        str(body.get("title") or response.reason_phrase or "Error"),
        str(body.get("detail") or response.text[:500]),
        type=str(body.get("type") or "about:blank"),
        errors=errors if isinstance(errors, list) else None,
        retry_after=retry_after_seconds(response),
    )
