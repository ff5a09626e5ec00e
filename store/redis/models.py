"""The model registry in Redis: ``models`` (version -> the codec's document) and ``active``."""

from __future__ import annotations

import time
from typing import Any

from store.codec import decode_model, loads, model_doc
from store.protocols import ModelStore, ModelVersion
from store.redis.connection import RedisConnection


class RedisModels(RedisConnection, ModelStore):
    def publish_model(self, tenant: str, version: str, metrics: dict[str, Any]) -> None:
        t = self._t(tenant)
        old = self.r.hget(t + "models", version)
        # Publishing again updates the metrics; the version keeps its first time.
        created_at = loads(old)["created_at"] if old else time.time()
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(t + "models", version, model_doc(metrics, created_at))
        pipe.setnx(t + "active", version)
        pipe.execute()

    def list_models(self, tenant: str) -> list[ModelVersion]:
        t = self._t(tenant)
        pipe = self.r.pipeline(transaction=True)  # MULTI: the active flag matches the list
        pipe.get(t + "active")
        pipe.hgetall(t + "models")
        active, docs = pipe.execute()
        models = [decode_model(version, doc, active) for version, doc in docs.items()]
        return sorted(models, key=lambda m: m.created_at)

    def activate_model(self, tenant: str, version: str) -> bool:
        t = self._t(tenant)
        if not self.r.hexists(t + "models", version):
            return False
        self.r.set(t + "active", version)
        return True

    def active_model(self, tenant: str) -> str | None:
        return self.r.get(self._t(tenant) + "active")
