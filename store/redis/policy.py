"""The tenant policy document in Redis (``config``)."""

from __future__ import annotations

from typing import Any

from store.codec import dumps, loads
from store.protocols import PolicyStore
from store.redis.connection import RedisConnection


class RedisPolicy(RedisConnection, PolicyStore):
    def get_tenant_config(self, tenant: str) -> dict[str, Any]:
        doc = self.r.get(self._t(tenant) + "config")
        return loads(doc) if doc else {}

    def put_tenant_config(self, tenant: str, config: dict[str, Any]) -> None:
        self.r.set(self._t(tenant) + "config", dumps(config))
