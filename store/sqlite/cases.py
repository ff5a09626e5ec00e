"""Service cases in the embedded store: one row per case, keyed by the tenant's ``case_id``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from store.codec import dumps, loads
from store.protocols import CaseStore
from store.sqlite.connection import SQLiteConnection
from store.sqlite.contacts import page_sql, records_of
from store.sqlite.customers import touch_portfolios_of


class SQLiteCases(SQLiteConnection, CaseStore):
    def put_case(self, tenant: str, customer_id: str, case: dict[str, Any]) -> bool:
        with self._write() as db:
            held = db.execute(
                "SELECT customer_id FROM cases WHERE tenant = ? AND case_id = ?",
                (tenant, case["case_id"]),
            ).fetchone()
            db.execute(
                "INSERT INTO cases (tenant, case_id, customer_id, ts, doc) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (tenant, case_id) DO UPDATE SET customer_id = excluded.customer_id,"
                " ts = excluded.ts, doc = excluded.doc",
                (tenant, case["case_id"], customer_id, case["opened_at"], dumps(case)),
            )
            touch_portfolios_of(db, tenant, [customer_id, *(held or ())])  # and who held it
            return held is None

    def get_case(self, tenant: str, case_id: str) -> tuple[str, dict[str, Any]] | None:
        row = (
            self._db()
            .execute(
                "SELECT customer_id, doc FROM cases WHERE tenant = ? AND case_id = ?",
                (tenant, case_id),
            )
            .fetchone()
        )
        return (row[0], loads(row[1])) if row else None

    def list_cases(
        self, tenant: str, customer_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT doc FROM cases WHERE tenant = ? AND customer_id = ?"
            " ORDER BY ts DESC, case_id DESC" + page_sql(limit, offset),
            (tenant, customer_id),
        )
        return [loads(doc) for (doc,) in rows]

    def cases_of(self, tenant: str, customer_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return records_of(self, "cases", "case_id", tenant, customer_ids, None)

    def iter_cases(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        rows = self._db().execute("SELECT customer_id, doc FROM cases WHERE tenant = ?", (tenant,))
        for cid, doc in rows.fetchall():
            yield cid, loads(doc)
