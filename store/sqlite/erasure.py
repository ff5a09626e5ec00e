"""Erasure in the embedded store: one transaction over every kind of customer data, then a
checkpoint, so no copy of the erased rows stays in the write-ahead log.

With ``secure_delete`` on (see :mod:`store.sqlite.connection`) the deleted rows are zeroed in
the pages that held them; ``wal_checkpoint(TRUNCATE)`` then copies those pages into the file and
empties the log, where the rows' earlier page images would otherwise wait for a later checkpoint.
"""

from __future__ import annotations

import logging

from store.codec import CustomerData, erasure_steps
from store.protocols import ErasureStore
from store.sqlite.connection import SQLiteConnection, bump

log = logging.getLogger(__name__)

# Every kind of customer data -> the tables holding it, each keyed by (tenant, customer_id).
_TABLES = erasure_steps(
    "embedded",
    {
        CustomerData.PROFILE: "customers",
        CustomerData.EVENTS: "events",  # the event id is its key: ids go with the rows
        CustomerData.HISTORY: "customer_items",
        CustomerData.SERVING_VERSION: "customer_versions",
        CustomerData.INSIGHTS: "insights_rows",
        CustomerData.INSIGHTS_HISTORY: "insights_history",
        CustomerData.CONFIGURATIONS: "configurations",
    },
)


class SQLiteErasure(SQLiteConnection, ErasureStore):
    def erase_customer(self, tenant: str, customer_id: str) -> bool:
        held = 0
        with self._write() as db:
            for table in _TABLES:
                held += db.execute(
                    f"DELETE FROM {table} WHERE tenant = ? AND customer_id = ?",
                    (tenant, customer_id),
                ).rowcount
            if held:
                bump(db, tenant, "erasures")
        if held:
            self._checkpoint()
        return held > 0

    def _checkpoint(self) -> None:
        """Empty the write-ahead log into the file (waits for readers of older snapshots)."""
        busy, _, _ = self._db().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            log.warning(
                "erasure committed, but readers kept the write-ahead log of %s from being"
                " emptied; the erased rows leave it at the next checkpoint",
                self.path,
            )
