"""API keys and the caller's own key."""

from __future__ import annotations

from typing import Literal

from atelier_client.models._base import Model, Timestamp

#: What a key may do (API.md, Conventions).
Scope = Literal["events", "catalog", "customers", "recommend", "configure", "admin"]


class CallerPublic(Model):
    """``GET /v1/me``: the tenant and scopes of the key in use."""

    tenant: str
    key_id: str
    scopes: list[str]


class KeyPublic(Model):
    """A key as listed: its id, scopes, label and state; never its secret."""

    key_id: str
    scopes: list[Scope]
    label: str | None
    created_at: Timestamp
    revoked: bool


class KeyCreated(KeyPublic):
    """The answer to a creation: the only time the secret (``key``) is shown."""

    key: str


class KeyList(Model):
    keys: list[KeyPublic]
    next_cursor: str | None
