"""Storage behind one interface (:class:`store.base.Store`), with two backends.

``embedded`` (default): one SQLite file under ``ATELIER_DATA_DIR``, no server needed.
``redis``: shared by several workers or replicas.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from store.base import CustomerItems, ModelVersion, ServingVersions, Store

if TYPE_CHECKING:
    from settings import Settings

__all__ = [
    "CustomerItems",
    "ModelVersion",
    "ServingVersions",
    "Store",
    "open_configured_store",
    "open_store",
]


def open_store(
    backend: str,
    *,
    sqlite_path: Path | None = None,
    redis_url: str = "",
    redis_prefix: str = "atelier",
) -> Store:
    """Open the configured backend (``"embedded"`` or ``"redis"``)."""
    if backend == "embedded":
        from store.embedded import SQLiteStore

        if sqlite_path is None:
            raise ValueError("the embedded store needs sqlite_path")
        return SQLiteStore(sqlite_path)
    if backend == "redis":
        from store.redis_backend import RedisStore

        return RedisStore(redis_url, prefix=redis_prefix)
    raise ValueError(f"unknown store backend {backend!r} (expected 'embedded' or 'redis')")


def open_configured_store(settings: Settings) -> Store:
    """The store the settings name (``ATELIER_STORE`` and its connection settings)."""
    return open_store(
        settings.store,
        sqlite_path=settings.sqlite_path,
        redis_url=settings.redis_url,
        redis_prefix=settings.redis_prefix,
    )
