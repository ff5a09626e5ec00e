"""Job locks in Redis: ``<prefix>:{<tenant>}:lock:<job>`` set with ``NX`` and an expiry.

The value is the holder's random token; release deletes the key only if it still holds that
token (a Lua compare-and-delete), so a holder whose lock expired never frees its successor's.
The expiry bounds how long a holder that died keeps the job blocked.
"""

from __future__ import annotations

import secrets

from store.protocols import JobLockStore
from store.redis.connection import RedisConnection

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisJobLocks(RedisConnection, JobLockStore):
    def acquire_job_lock(self, tenant: str, job: str, ttl_s: float) -> str | None:
        token = secrets.token_hex(16)
        ms = max(1, int(ttl_s * 1000))
        if self.r.set(self._t(tenant) + f"lock:{job}", token, nx=True, px=ms):
            return token
        return None

    def release_job_lock(self, tenant: str, job: str, token: str) -> bool:
        key = self._t(tenant) + f"lock:{job}"
        return bool(self._script(_RELEASE)(keys=[key], args=[token]))
