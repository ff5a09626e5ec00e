"""Service secrets in Redis: ``<prefix>:secret:<name>``, outside every tenant's keys.

``SET NX`` then ``GET``: of several workers or replicas creating the secret at once, the first
``SET`` wins and every one reads that value (a retried ``SET NX`` only fails, harmlessly).
"""

from __future__ import annotations

from store.protocols import SecretStore
from store.redis.connection import RedisConnection


class RedisSecrets(RedisConnection, SecretStore):
    def ensure_secret(self, name: str, candidate: str) -> str:
        key = f"{self.prefix}:secret:{name}"
        self.r.set(key, candidate, nx=True)
        value = self.r.get(key)
        if value is None:  # only if someone deleted it in between: store ours again
            self.r.set(key, candidate, nx=True)
            value = self.r.get(key)
        return str(value)
