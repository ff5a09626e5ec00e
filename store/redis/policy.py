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
        t = self._t(tenant)
        pipe = self.r.pipeline(transaction=True)
        pipe.set(t + "config", dumps(config))
        pipe.incr(t + "counter:catalog")  # serving caches re-read the policy (see the protocol)
        pipe.execute()
