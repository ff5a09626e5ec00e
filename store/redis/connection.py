"""The Redis client of the store: fail-fast timeouts, a short retry, and which errors are outages.

A request that reaches a Redis which is down or restarting gets retries for up to about a
second (exponential backoff), then :class:`core.errors.Unavailable` (503 with ``Retry-After``)
instead of hanging or answering 500. A Redis that accepts but does not answer, or answers that
it is still loading its data set, is an outage at once: redis-py opens a connection (and reads
its handshake) outside its retry loop, and the socket timeout bounds the wait.

A command whose answer timed out is sent again, so it may have run twice. Most writes do not
mind (events are idempotent by id, upserts replace); ``put_family`` could then add one more
version and a rate-limit window count one more request.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.commands.core import Script
from redis.retry import Retry

#: Errors worth a retry: the server is unreachable, slow to answer, or loading its data set.
RETRIED = (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError)


def redis_outage(exc: BaseException) -> str | None:
    """Why Redis cannot answer (for :func:`store.outage.shield`), or None for other errors."""
    if isinstance(exc, redis.BusyLoadingError):
        return f"Redis is loading its data set ({exc})"
    if isinstance(exc, redis.TimeoutError):
        return f"Redis did not answer in time ({exc})"
    if isinstance(exc, redis.ConnectionError):
        return f"Redis cannot be reached ({exc})"
    if isinstance(exc, redis.ReadOnlyError):
        return f"Redis is a read-only replica now, a failover is under way ({exc})"
    return None


class RedisConnection:
    """The client, the tenant key prefix, and the Lua scripts the mixins run."""

    def __init__(
        self,
        url: str,
        prefix: str = "atelier",
        *,
        connect_timeout_s: float = 0.5,
        socket_timeout_s: float = 2.0,
        retries: int = 2,
    ) -> None:
        # Backoff 0.1 then 0.2 s. redis-py retries a command, and inside each try the connect,
        # with the same Retry: three connects of three tries, about a second at most before
        # answering 503. The socket's own errors are listed: a refused or reset connect is an
        # OSError, not a redis.ConnectionError, and is retried only if its Retry names it.
        retry = Retry(
            ExponentialBackoff(cap=0.4, base=0.05),
            retries,
            supported_errors=(*RETRIED, ConnectionRefusedError, ConnectionResetError),
        )
        self.r = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=connect_timeout_s,
            socket_timeout=socket_timeout_s,
            retry=retry,
            retry_on_error=list(RETRIED),
        )
        self.prefix = prefix
        self._scripts: dict[str, Script] = {}

    def _t(self, tenant: str) -> str:
        """The prefix of every key of ``tenant`` (a hash tag: one Cluster slot per tenant)."""
        return f"{self.prefix}:{{{tenant}}}:"

    def _script(self, source: str) -> Script:
        """The registered script of ``source`` (loaded into Redis on its first call)."""
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.r.register_script(source)
        return script

    def _run(self, source: str, args: list[Any], client: Any = None) -> Any:
        return self._script(source)(args=args, client=client)

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self.r.close()

    def clear(self) -> None:
        """Delete every key under this store's prefix.

        Only the test fixtures call it: each Redis test runs under a prefix of its own in a
        shared server, and this removes what it wrote (no product path deletes a whole prefix).
        """
        for key in self.r.scan_iter(match=f"{self.prefix}:*", count=1000):
            self.r.delete(key)
