"""The Redis backend: what several workers and replicas share.

Key layout: every key of a tenant starts with ``<prefix>:{<tenant>}:`` so that, on Redis Cluster,
the hash tag puts a whole tenant in one slot and the Lua scripts that write several of its keys at
once stay slot-local. Multi-key writes (a batch of events with the history rows it updates, an
erasure, a saved configuration with its event) run as one Lua script or MULTI/EXEC, so each is
atomic. :class:`RedisStore` is composed of one mixin per concern over the client of
:mod:`store.redis.connection`; each module documents its keys, next to the script it runs.

Durability of acknowledged events is Redis's own: run it with ``appendonly yes`` /
``appendfsync always`` (or ``everysec``) in production. Erasure removes the data from memory at
once; the AOF keeps the commands that wrote it until ``BGREWRITEAOF`` rewrites the file, so run
one after erasures (see :mod:`store.redis.erasure`).
"""

from __future__ import annotations

from typing import ClassVar

from store.base import Store
from store.outage import shield
from store.redis.aliases import RedisAliases
from store.redis.answers import RedisAnswers
from store.redis.cases import RedisCases
from store.redis.catalog import RedisCatalog
from store.redis.configurator import RedisConfigurator
from store.redis.connection import redis_outage
from store.redis.contacts import RedisContacts
from store.redis.customers import RedisCustomers
from store.redis.erasure import RedisErasure
from store.redis.events import RedisEvents
from store.redis.experiments import RedisExperiments
from store.redis.insights import RedisInsights
from store.redis.keys import RedisKeys
from store.redis.locks import RedisJobLocks
from store.redis.models import RedisModels
from store.redis.policy import RedisPolicy
from store.redis.questions import RedisQuestions
from store.redis.secrets import RedisSecrets
from store.redis.tenants import RedisTenants

__all__ = ["RedisStore"]


@shield(redis_outage)
class RedisStore(
    RedisKeys,
    RedisTenants,
    RedisCatalog,
    RedisCustomers,
    RedisEvents,
    RedisErasure,
    RedisPolicy,
    RedisModels,
    RedisExperiments,
    RedisInsights,
    RedisConfigurator,
    RedisJobLocks,
    RedisContacts,
    RedisCases,
    RedisQuestions,
    RedisAnswers,
    RedisAliases,
    RedisSecrets,
    Store,
):
    """The shared backend for several workers or replicas.

    Examples
    --------
    >>> store = RedisStore("redis://127.0.0.1:6379/0", prefix="atelier")   # doctest: +SKIP
    """

    backend: ClassVar[str] = "redis"
