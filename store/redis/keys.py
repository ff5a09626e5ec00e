"""API keys and rate-limit windows in Redis (keys are not scoped by tenant: a secret names it).

``apikey:<hash>`` is the key's hash of fields, ``apikeyid:<id>`` points from its id to its hash,
``apikeys`` lists every id; a rate-limit window is a counter that expires after two windows.
"""

from __future__ import annotations

from core.records import ApiKey
from store.codec import KEY_FIELDS, decode_key, key_fields
from store.protocols import KeyStore
from store.redis.connection import RedisConnection


class RedisKeys(RedisConnection, KeyStore):
    def put_api_key(self, key: ApiKey, key_hash: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(
            f"{self.prefix}:apikey:{key_hash}",
            mapping={name: value for name, value in key_fields(key).items()},  # as the stubs want
        )
        pipe.set(f"{self.prefix}:apikeyid:{key.key_id}", key_hash)
        pipe.sadd(f"{self.prefix}:apikeys", key.key_id)
        pipe.execute()

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        values = self.r.hmget(f"{self.prefix}:apikey:{key_hash}", KEY_FIELDS)
        return decode_key(values) if values[0] is not None else None

    def list_api_keys(self, tenant: str | None = None) -> list[ApiKey]:
        ids = sorted(self.r.smembers(f"{self.prefix}:apikeys"))
        if not ids:
            return []
        hashes = self.r.mget([f"{self.prefix}:apikeyid:{i}" for i in ids])
        pipe = self.r.pipeline(transaction=False)
        for key_hash in filter(None, hashes):
            pipe.hmget(f"{self.prefix}:apikey:{key_hash}", KEY_FIELDS)
        keys = [decode_key(values) for values in pipe.execute() if values[0] is not None]
        return sorted(
            (k for k in keys if tenant is None or k.tenant == tenant), key=lambda k: k.created_at
        )

    def revoke_api_key(self, key_id: str) -> bool:
        key_hash = self.r.get(f"{self.prefix}:apikeyid:{key_id}")
        if not key_hash:
            return False
        self.r.hset(f"{self.prefix}:apikey:{key_hash}", "revoked", "1")
        return True

    def hit_rate_limit(self, key_id: str, limit: int, window_s: int, now: float) -> float:
        window = int(now // window_s)
        key = f"{self.prefix}:rl:{key_id}:{window}"
        pipe = self.r.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window_s * 2)
        hits = pipe.execute()[0]
        if hits <= limit:
            return 0.0
        return max((window + 1) * window_s - now, 0.001)
