"""Customer-value insights in the embedded store: the tenant's summary, per-customer rows, each
customer's row at every run (history) and the versioned insights settings.

A job run streams its rows and history entries into ``insights_staged`` chunk by chunk, where
no reader looks, and one transaction then swaps them in with the summary."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from store.codec import dumps, loads
from store.protocols import InsightsStore
from store.sqlite.connection import SQLiteConnection
from store.sqlite.customers import touch_all_portfolios, touch_portfolios_of

_UPSERT_ROW = (
    "INSERT INTO insights_rows (tenant, customer_id, doc) VALUES (?, ?, ?)"
    " ON CONFLICT (tenant, customer_id) DO UPDATE SET doc = excluded.doc"
)
_PAGE = 2000
#: Staged rows older than this belong to a job that died: the next commit drops them.
STALE_STAGING_S = 24 * 3600.0


class SQLiteInsights(SQLiteConnection, InsightsStore):
    def put_insights(
        self,
        tenant: str,
        summary: dict[str, Any],
        rows: dict[str, dict[str, Any]],
        history: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        run = str(summary.get("computed_at", ""))
        self.stage_insights(tenant, run, rows, history)
        self.commit_insights(tenant, run, summary)

    def stage_insights(
        self,
        tenant: str,
        run: str,
        rows: dict[str, dict[str, Any]],
        history: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        now = time.time()
        docs = [(tenant, run, "row", cid, dumps(row), now) for cid, row in rows.items()]
        docs += [(tenant, run, "history", cid, dumps(e), now) for cid, e in (history or {}).items()]
        with self._write() as db:
            db.executemany(
                "INSERT OR REPLACE INTO insights_staged"
                " (tenant, run, kind, customer_id, doc, staged_at) VALUES (?, ?, ?, ?, ?, ?)",
                docs,
            )

    def commit_insights(self, tenant: str, run: str, summary: dict[str, Any]) -> None:
        with self._write() as db:  # one transaction: the run lands whole or not at all
            db.execute(
                "INSERT INTO insights_summary (tenant, doc) VALUES (?, ?)"
                " ON CONFLICT (tenant) DO UPDATE SET doc = excluded.doc",
                (tenant, dumps(summary)),
            )
            db.execute("DELETE FROM insights_rows WHERE tenant = ?", (tenant,))
            touch_all_portfolios(db, tenant)
            db.execute(
                "INSERT INTO insights_rows (tenant, customer_id, doc) SELECT tenant, customer_id,"
                " doc FROM insights_staged WHERE tenant = ? AND run = ? AND kind = 'row'",
                (tenant, run),
            )
            db.execute(
                "INSERT OR REPLACE INTO insights_history (tenant, customer_id, run, doc)"
                " SELECT tenant, customer_id, run, doc FROM insights_staged"
                " WHERE tenant = ? AND run = ? AND kind = 'history'",
                (tenant, run),
            )
            # this run's staging, and what a job that died long ago left behind
            db.execute(
                "DELETE FROM insights_staged WHERE tenant = ? AND (run = ? OR staged_at < ?)",
                (tenant, run, time.time() - STALE_STAGING_S),
            )

    def discard_insights(self, tenant: str, run: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM insights_staged WHERE tenant = ? AND run = ?", (tenant, run))

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

    def get_insights_rows(
        self, tenant: str, customer_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(customer_ids))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self._db().execute(
                "SELECT customer_id, doc FROM insights_rows WHERE tenant = ?"
                f" AND customer_id IN ({','.join('?' * len(chunk))})",
                (tenant, *chunk),
            )
            out.update((cid, loads(doc)) for cid, doc in rows)
        return out

    def put_insights_rows(self, tenant: str, rows: dict[str, dict[str, Any]]) -> None:
        row_docs = [(tenant, cid, dumps(row)) for cid, row in rows.items()]
        with self._write() as db:
            db.executemany(_UPSERT_ROW, row_docs)
            touch_portfolios_of(db, tenant, rows)

    def get_insights_history(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        found = (
            self._db()
            .execute(
                "SELECT doc FROM insights_history WHERE tenant = ? AND customer_id = ?"
                " ORDER BY run",
                (tenant, customer_id),
            )
            .fetchall()
        )
        return [loads(r[0]) for r in found]

    def iter_insights_rows(
        self, tenant: str, after: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        last = after if after is not None else ""
        while True:  # pages by key: no read transaction held while the caller works
            page = (
                self._db()
                .execute(
                    "SELECT customer_id, doc FROM insights_rows WHERE tenant = ?"
                    " AND customer_id > ? ORDER BY customer_id LIMIT ?",
                    (tenant, last, _PAGE),
                )
                .fetchall()
            )
            for cid, doc in page:
                yield cid, loads(doc)
            if len(page) < _PAGE:
                return
            last = page[-1][0]

    def get_insights_setting(self, tenant: str, name: str) -> tuple[int, dict[str, Any]] | None:
        row = (
            self._db()
            .execute(
                "SELECT version, doc FROM insights_settings WHERE tenant = ? AND name = ?"
                " ORDER BY version DESC LIMIT 1",
                (tenant, name),
            )
            .fetchone()
        )
        return (int(row[0]), loads(row[1])) if row else None

    def put_insights_setting(self, tenant: str, name: str, doc: dict[str, Any]) -> int:
        encoded = dumps(doc)
        with self._write() as db:  # the write lock orders concurrent versions
            (current,) = db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM insights_settings"
                " WHERE tenant = ? AND name = ?",
                (tenant, name),
            ).fetchone()
            version = int(current) + 1
            db.execute(
                "INSERT INTO insights_settings (tenant, name, version, doc) VALUES (?, ?, ?, ?)",
                (tenant, name, version, encoded),
            )
        return version
