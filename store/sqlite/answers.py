"""Answers in the embedded store: the latest per (tenant, customer, question); each answer
gives the customer a new serving version (a stated preference changes their recommendations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from store.codec import dumps, loads
from store.protocols import AnswerStore
from store.sqlite.connection import SQLiteConnection
from store.sqlite.events import touch_customers


class SQLiteAnswers(SQLiteConnection, AnswerStore):
    def put_answer(self, tenant: str, customer_id: str, answer: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO answers (tenant, customer_id, question_id, ts, doc)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, customer_id, question_id)"
                " DO UPDATE SET ts = excluded.ts, doc = excluded.doc",
                (tenant, customer_id, answer["question_id"], answer["timestamp"], dumps(answer)),
            )
            # a stated preference changes what is recommended: cached answers go stale
            touch_customers(db, tenant, {customer_id})

    def list_answers(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT doc FROM answers WHERE tenant = ? AND customer_id = ?"
            " ORDER BY ts DESC, question_id",
            (tenant, customer_id),
        )
        return [loads(doc) for (doc,) in rows]

    def iter_answers(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        rows = self._db().execute(
            "SELECT customer_id, doc FROM answers WHERE tenant = ?", (tenant,)
        )
        for cid, doc in rows.fetchall():
            yield cid, loads(doc)
