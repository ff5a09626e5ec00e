"""Tenants in Redis: one set of names."""

from __future__ import annotations

from store.protocols import TenantStore
from store.redis.connection import RedisConnection


class RedisTenants(RedisConnection, TenantStore):
    def ensure_tenant(self, tenant: str) -> bool:
        return bool(self.r.sadd(f"{self.prefix}:tenants", tenant))

    def list_tenants(self) -> list[str]:
        return sorted(self.r.smembers(f"{self.prefix}:tenants"))
