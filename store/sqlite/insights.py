"""Customer-value insights in the embedded store: the tenant's summary and per-customer rows."""

from __future__ import annotations

from typing import Any

from store.codec import dumps, loads
from store.protocols import InsightsStore
from store.sqlite.connection import SQLiteConnection

_UPSERT_ROW = (
    "INSERT INTO insights_rows (tenant, customer_id, doc) VALUES (?, ?, ?)"
    " ON CONFLICT (tenant, customer_id) DO UPDATE SET doc = excluded.doc"
)


class SQLiteInsights(SQLiteConnection, InsightsStore):
    def put_insights(
        self, tenant: str, summary: dict[str, Any], rows: dict[str, dict[str, Any]]
    ) -> None:
        summary_doc = dumps(summary)
        row_docs = [(tenant, cid, dumps(row)) for cid, row in rows.items()]
        with self._write() as db:
            db.execute(
                "INSERT INTO insights_summary (tenant, doc) VALUES (?, ?)"
                " ON CONFLICT (tenant) DO UPDATE SET doc = excluded.doc",
                (tenant, summary_doc),
            )
            db.execute("DELETE FROM insights_rows WHERE tenant = ?", (tenant,))
            db.executemany(_UPSERT_ROW, row_docs)

    def get_insights_summary(self, tenant: str) -> dict[str, Any] | None:
        row = (
            self._db()
            .execute("SELECT doc FROM insights_summary WHERE tenant = ?", (tenant,))
            .fetchone()
        )
        return loads(row[0]) if row else None

    def get_insights_row(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        row = (
            self._db()
            .execute(
                "SELECT doc FROM insights_rows WHERE tenant = ? AND customer_id = ?",
                (tenant, customer_id),
            )
            .fetchone()
        )
        return loads(row[0]) if row else None

    def put_insights_rows(self, tenant: str, rows: dict[str, dict[str, Any]]) -> None:
        row_docs = [(tenant, cid, dumps(row)) for cid, row in rows.items()]
        with self._write() as db:
            db.executemany(_UPSERT_ROW, row_docs)
