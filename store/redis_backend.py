"""The Redis backend under its historical name (the code lives in :mod:`store.redis`)."""

from store.redis import RedisStore

__all__ = ["RedisStore"]
