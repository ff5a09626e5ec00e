"""The question bank in the embedded store: one document per (tenant, question)."""

from __future__ import annotations

from typing import Any

from store.codec import dumps, loads
from store.protocols import QuestionStore
from store.sqlite.connection import SQLiteConnection


class SQLiteQuestions(SQLiteConnection, QuestionStore):
    def put_question(self, tenant: str, question_id: str, question: dict[str, Any]) -> bool:
        with self._write() as db:
            held = db.execute(
                "SELECT 1 FROM questions WHERE tenant = ? AND question_id = ?",
                (tenant, question_id),
            ).fetchone()
            db.execute(
                "INSERT INTO questions (tenant, question_id, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (tenant, question_id) DO UPDATE SET doc = excluded.doc",
                (tenant, question_id, dumps(question)),
            )
            return held is None

    def list_questions(self, tenant: str) -> dict[str, dict[str, Any]]:
        rows = self._db().execute(
            "SELECT question_id, doc FROM questions WHERE tenant = ? ORDER BY question_id",
            (tenant,),
        )
        return {qid: loads(doc) for qid, doc in rows}

    def delete_question(self, tenant: str, question_id: str) -> bool:
        with self._write() as db:
            return (
                db.execute(
                    "DELETE FROM questions WHERE tenant = ? AND question_id = ?",
                    (tenant, question_id),
                ).rowcount
                > 0
            )
