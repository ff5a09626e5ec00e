"""Product families and saved configurations in Redis: ``fam:<family>`` (one document per
version, in order), ``families`` (family -> latest version), ``cfg:<customer>`` (saved
configurations, oldest first)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from core.records import Event
from store.codec import configuration_doc, dumps, loads
from store.protocols import ConfiguratorStore
from store.redis.connection import RedisConnection
from store.redis.events import ADD_EVENTS, event_args


class RedisConfigurator(RedisConnection, ConfiguratorStore):
    def put_family(self, tenant: str, family_id: str, family: dict[str, Any]) -> int:
        t = self._t(tenant)
        version = int(self.r.rpush(t + "fam:" + family_id, dumps(family)))
        self.r.hset(t + "families", family_id, version)
        return version

    def get_family(
        self, tenant: str, family_id: str, version: int | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        key = self._t(tenant) + "fam:" + family_id
        if version is None:
            version = int(self.r.llen(key))
            if version == 0:
                return None
        if version < 1:
            return None
        doc = self.r.lindex(key, version - 1)
        return (version, loads(doc)) if doc else None

    def list_families(self, tenant: str) -> dict[str, int]:
        found = self.r.hgetall(self._t(tenant) + "families")
        return {f: int(v) for f, v in found.items()}

    def save_configuration(
        self,
        tenant: str,
        customer_id: str,
        configuration: dict[str, Any],
        *,
        configuration_id: str | None = None,
        event: Event | None = None,
    ) -> str:
        t = self._t(tenant)
        config_id = configuration_id or uuid.uuid4().hex[:16]
        doc = configuration_doc(configuration, config_id, time.time())
        pipe = self.r.pipeline(transaction=True)  # MULTI/EXEC: the spec and its event together
        pipe.rpush(t + "cfg:" + customer_id, doc)
        if event is not None:
            self._run(ADD_EVENTS, event_args(t, [event], None), client=pipe)
        pipe.execute()
        return config_id

    def list_configurations(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        docs = self.r.lrange(self._t(tenant) + "cfg:" + customer_id, 0, -1)
        return [loads(d) for d in docs]
