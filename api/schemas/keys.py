"""API keys over HTTP: what an admin sends to create one and what it sees (never a secret,
except once, in the answer that created it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.records import ApiKey

#: The scopes a key can hold (``core.records.SCOPES``), as the document's enum.
Scope = Literal["events", "catalog", "customers", "recommend", "configure", "admin"]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Scope] = Field(min_length=1, description="what the key may do")
    label: str | None = Field(
        default=None, max_length=200, description="a name for people (who holds the key)"
    )


class KeyPublic(BaseModel):
    """A key as listed: its id, scopes, label and state; never its secret."""

    key_id: str
    scopes: list[Scope]
    label: str | None
    created_at: datetime = Field(description="RFC 3339, UTC")
    revoked: bool

    @classmethod
    def of(cls, key: ApiKey) -> KeyPublic:
        return cls(
            key_id=key.key_id,
            scopes=sorted(key.scopes),
            label=key.label,
            created_at=datetime.fromtimestamp(key.created_at, UTC),
            revoked=key.revoked,
        )


class KeyCreated(KeyPublic):
    """The answer to a creation: the only time the secret is shown."""

    key: str = Field(description="the bearer secret; store it now, it cannot be shown again")


class KeyList(BaseModel):
    keys: list[KeyPublic]
    next_cursor: str | None = Field(description="the next page's cursor; null on the last page")
