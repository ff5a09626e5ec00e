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
from store.sqlite.customers import touch_portfolios_of

log = logging.getLogger(__name__)


def _rows(table: str) -> str:
    return f"DELETE FROM {table} WHERE tenant = ?1 AND customer_id = ?2"


# Every kind of customer data -> the statement deleting it (``?1`` tenant, ``?2`` customer).
_STATEMENTS = erasure_steps(
    "embedded",
    {
        CustomerData.PROFILE: _rows("customers"),
        CustomerData.EVENTS: _rows("events"),  # the event id is its key: ids go with the rows
        CustomerData.HISTORY: _rows("customer_items"),
        CustomerData.SERVING_VERSION: _rows("customer_versions"),
        # the row, and the one a running job has staged (it would land after the erasure)
        CustomerData.INSIGHTS: _rows("insights_rows") + "; " + _rows("insights_staged"),
        CustomerData.INSIGHTS_HISTORY: _rows("insights_history"),
        CustomerData.CONFIGURATIONS: _rows("configurations"),
        CustomerData.CONTACTS: _rows("contacts"),
        CustomerData.CASES: _rows("cases"),
        CustomerData.ANSWERS: _rows("answers"),
        # the aliases' serving versions first, then the aliases themselves
        CustomerData.ALIASES: "DELETE FROM customer_versions WHERE tenant = ?1 AND customer_id IN"
        " (SELECT alias_id FROM aliases WHERE tenant = ?1 AND customer_id = ?2);"
        " DELETE FROM aliases WHERE tenant = ?1 AND customer_id = ?2",
    },
)


class SQLiteErasure(SQLiteConnection, ErasureStore):
    def erase_customer(self, tenant: str, customer_id: str) -> bool:
        held = 0
        with self._write() as db:
            touch_portfolios_of(db, tenant, [customer_id])  # while the profile names its manager
            for statements in _STATEMENTS:
                for statement in statements.split(";"):
                    held += db.execute(statement, (tenant, customer_id)).rowcount
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
