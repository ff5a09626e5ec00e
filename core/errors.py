"""The errors domain code raises; the HTTP layer maps each kind to one status in one place.

Domain services never raise HTTP problems: they raise these (or their own subclasses), carrying a
message for people and, for invalid input, the location of the offending field.

Examples
--------
>>> try:
...     raise NotFound("customer 'c1' not found")
... except DomainError as exc:
...     str(exc)
"customer 'c1' not found"
"""

from __future__ import annotations

from typing import Any


class NotFittedError(RuntimeError):
    """A fitted model (recommender family, value model) was used before ``fit`` or loading."""


class MissingExtra(RuntimeError):
    """An optional dependency a job needs is not installed; the message names the extra that
    brings it (``pip install 'atelier[tune]'``)."""


class DomainError(Exception):
    """Base of the errors a domain service raises for its caller to report."""


class NotFound(DomainError):
    """The resource does not exist for this tenant (another tenant's answers the same)."""


class Conflict(DomainError):
    """The request contradicts the current state (a refused activation, a duplicate)."""


class InvalidInput(DomainError):
    """Input a schema could not reject alone; ``errors`` name the fields (``loc``, ``msg``)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class Unavailable(DomainError):
    """A dependency (the store) cannot answer now; the caller may retry after ``retry_after``."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
