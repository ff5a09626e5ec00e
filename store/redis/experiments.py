"""A/B experiments in Redis: ``exp`` (id -> document) and ``exp:running`` (the running id);
each write is one Lua script (the one-running check and the catalog version move with it)."""

from __future__ import annotations

from typing import Any

from store.codec import dumps, loads
from store.protocols import ExperimentStore
from store.redis.connection import RedisConnection

# ARGV: tenant prefix, experiment id, document. 1 when started, 0 when another one runs.
PUT_EXPERIMENT = """
local p, id, doc = ARGV[1], ARGV[2], ARGV[3]
local running = redis.call('GET', p .. 'exp:running')
if running and running ~= id then return 0 end
redis.call('HSET', p .. 'exp', id, doc)
redis.call('SET', p .. 'exp:running', id)
redis.call('INCR', p .. 'counter:catalog')
return 1
"""

# ARGV: tenant prefix, experiment id, final document. 1 when ended, 0 when it was not running.
END_EXPERIMENT = """
local p, id, doc = ARGV[1], ARGV[2], ARGV[3]
if redis.call('GET', p .. 'exp:running') ~= id then return 0 end
redis.call('HSET', p .. 'exp', id, doc)
redis.call('DEL', p .. 'exp:running')
redis.call('INCR', p .. 'counter:catalog')
return 1
"""


class RedisExperiments(RedisConnection, ExperimentStore):
    def put_experiment(self, tenant: str, experiment_id: str, doc: dict[str, Any]) -> bool:
        args = [self._t(tenant), experiment_id, dumps(doc)]
        return bool(self._run(PUT_EXPERIMENT, args))

    def get_experiment(self, tenant: str, experiment_id: str) -> dict[str, Any] | None:
        doc = self.r.hget(self._t(tenant) + "exp", experiment_id)
        return loads(doc) if doc else None

    def running_experiment(self, tenant: str) -> tuple[str, dict[str, Any]] | None:
        t = self._t(tenant)
        running = self.r.get(t + "exp:running")
        if not running:
            return None
        doc = self.r.hget(t + "exp", running)
        return (str(running), loads(doc)) if doc else None

    def list_experiments(self, tenant: str) -> list[tuple[str, dict[str, Any]]]:
        docs = self.r.hgetall(self._t(tenant) + "exp")
        return sorted((str(k), loads(v)) for k, v in docs.items())

    def end_experiment(self, tenant: str, experiment_id: str, doc: dict[str, Any]) -> bool:
        args = [self._t(tenant), experiment_id, dumps(doc)]
        return bool(self._run(END_EXPERIMENT, args))
