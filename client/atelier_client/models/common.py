"""Parts shared by the answers: a field's error, a batch element's errors."""

from __future__ import annotations

from atelier_client.models._base import Model


class ErrorDetail(Model):
    loc: list[str | int]
    msg: str


class IndexedErrors(Model):
    """Errors of one element of a batch, by its index in the request."""

    index: int
    errors: list[ErrorDetail]


class HealthPublic(Model):
    """``GET /healthz``: the process is up."""

    status: str


class ReadyPublic(Model):
    """``GET /readyz`` when ready (a 503 problem says what is not)."""

    status: str
