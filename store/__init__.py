"""Storage behind per-concern protocols, with two backends that keep the same documents.

``embedded`` (default, :mod:`store.sqlite`): one SQLite file under ``ATELIER_DATA_DIR``, no
server needed. ``redis`` (:mod:`store.redis`): shared by several workers or replicas.

The layout, one concern per module:

- :mod:`store.protocols`: one protocol per kind of data (keys, tenants, catalog, customers,
  events, erasure, policy, models, experiments, insights, configurator, service secrets);
  :class:`store.base.Store` inherits them all, and domain code may take the narrow one it uses.
- :mod:`store.codec`: the one JSON library, each record's stored document, the tombstone rule,
  and :data:`store.codec.CUSTOMER_DATA`, the one list of what an erasure deletes.
- ``store/sqlite/`` and ``store/redis/``: a package per backend, one mixin module per protocol
  over a shared connection module; :mod:`store.outage` turns their outage errors into
  ``core.errors.Unavailable`` (503).

Adding a kind of data (say, a customer's answers to questions):

1. **Protocol**: ``AnswerStore`` in :mod:`store.protocols` (numpydoc one-liners, scoped by
   tenant), and add it to the bases of :class:`store.base.Store`.
2. **Codec**: ``answer_doc(...)`` / ``decode_answer(...)`` in :mod:`store.codec` if the record
   is more than a plain JSON document; both backends use them.
3. **Backend modules**: ``store/sqlite/answers.py`` (``SQLiteAnswers``; a new table is a new
   migration appended to :data:`store.sqlite.migrations.MIGRATIONS`) and
   ``store/redis/answers.py`` (``RedisAnswers``; its keys under ``self._t(tenant)`` and any Lua
   script next to them); add each mixin to the bases of ``SQLiteStore`` / ``RedisStore``.
4. **Erasure**: if it is customer data, one entry in :class:`store.codec.CustomerData`; each
   backend's erasure module then refuses to import until it has that kind's step (the tables
   in ``store/sqlite/erasure.py``, a Lua step in ``store/redis/erasure.py``).
5. **Contract tests**: ``tests/store/test_<kind>.py`` over the ``store`` fixture (both
   backends), and a writer for the new kind in ``WRITERS`` of
   ``tests/store/test_erasure.py``, whose completeness test fails without one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from store.base import CustomerItems, MergeCounts, ModelVersion, ServingVersions, Store

if TYPE_CHECKING:
    from settings import Settings

__all__ = [
    "CustomerItems",
    "MergeCounts",
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
        from store.sqlite import SQLiteStore

        if sqlite_path is None:
            raise ValueError("the embedded store needs sqlite_path")
        return SQLiteStore(sqlite_path)
    if backend == "redis":
        from store.redis import RedisStore

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
