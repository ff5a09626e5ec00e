"""API keys: generation, hashing and the per-request principal.

A key looks like ``atl_<key_id>_<secret>``. Only the SHA-256 of the whole key is stored, so a
leaked database does not leak usable keys.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

from core.errors import InvalidInput, NotFound
from core.records import SCOPES, ApiKey
from store.base import Store

TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_scopes(text: str | Iterable[str]) -> frozenset[str]:
    """Scopes from ``"events,recommend"``; raises ValueError naming unknown scopes."""
    items = [s.strip() for s in (text.split(",") if isinstance(text, str) else text)]
    scopes = frozenset(s for s in items if s)
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s) {unknown}; known: {', '.join(SCOPES)}")
    if not scopes:
        raise ValueError("at least one scope is required")
    return scopes


def create_key(
    store: Store, tenant: str, scopes: frozenset[str], label: str | None = None
) -> tuple[ApiKey, str]:
    """Create the tenant if needed and a new key for it; returns the record and the secret key."""
    if not TENANT_PATTERN.match(tenant):
        raise ValueError("tenant must be 1-64 characters of letters, digits, '_', '.', '-'")
    store.ensure_tenant(tenant)
    key_id = secrets.token_hex(6)
    secret = f"atl_{key_id}_{secrets.token_urlsafe(24)}"
    record = ApiKey(
        key_id=key_id, tenant=tenant, scopes=scopes, created_at=time.time(), label=label
    )
    store.put_api_key(record, hash_key(secret))
    return record, secret


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's tenant and scopes."""

    tenant: str
    key_id: str
    scopes: frozenset[str]


class KeyCache:
    """Authenticated keys trusted for ``ttl`` seconds, so the hot path does not read the store.

    Revocation therefore takes effect within ``ttl`` seconds on every worker.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Principal | None]] = {}

    def forget(self, key_id: str) -> None:
        """Drop the cached verdicts of one key (after its revocation on this worker)."""
        for key, (_, principal) in list(self._entries.items()):
            if principal is not None and principal.key_id == key_id:
                self._entries.pop(key, None)

    def lookup(self, store: Store, key: str) -> Principal | None:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        record = store.get_api_key(hash_key(key))
        principal = (
            Principal(record.tenant, record.key_id, record.scopes)
            if record is not None and not record.revoked
            else None
        )
        if self.ttl > 0:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key] = (now + self.ttl, principal)
        return principal


def _encode_cursor(key_id: str) -> str:
    return base64.urlsafe_b64encode(key_id.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput(
            "cursor is not one this API gave",
            [{"loc": ["query", "cursor"], "msg": "unknown cursor"}],
        ) from None


class KeyService:
    """A tenant's own keys, as an admin key manages them over HTTP: never another tenant's.

    Another tenant's key id answers :class:`~core.errors.NotFound`, as if it did not exist.
    """

    def __init__(self, store: Store, cache: KeyCache | None = None) -> None:
        self.store = store
        self.cache = cache

    def create(self, tenant: str, scopes: Iterable[str], label: str | None) -> tuple[ApiKey, str]:
        """A new key of ``tenant``; the secret is returned once and never stored."""
        try:
            parsed = parse_scopes(scopes)
        except ValueError as exc:
            raise InvalidInput(str(exc), [{"loc": ["body", "scopes"], "msg": str(exc)}]) from None
        return create_key(self.store, tenant, parsed, label)

    def page(
        self, tenant: str, limit: int, cursor: str | None = None
    ) -> tuple[list[ApiKey], str | None]:
        """Up to ``limit`` of the tenant's keys after ``cursor``, oldest first, and the next
        page's cursor (``None`` on the last page)."""
        keys = self.store.list_api_keys(tenant)
        start = 0
        if cursor is not None:
            after = _decode_cursor(cursor)
            ids = [k.key_id for k in keys]
            if after not in ids:
                raise InvalidInput(
                    "cursor is not one this API gave",
                    [{"loc": ["query", "cursor"], "msg": "unknown cursor"}],
                )
            start = ids.index(after) + 1
        chunk = keys[start : start + limit]
        more = start + limit < len(keys)
        return chunk, (_encode_cursor(chunk[-1].key_id) if more and chunk else None)

    def revoke(self, tenant: str, key_id: str) -> None:
        """Revoke one of the tenant's keys; this worker forgets it at once, others within the
        key cache's TTL."""
        if not any(k.key_id == key_id for k in self.store.list_api_keys(tenant)):
            raise NotFound(f"key '{key_id}' not found")
        self.store.revoke_api_key(key_id)
        if self.cache is not None:
            self.cache.forget(key_id)
