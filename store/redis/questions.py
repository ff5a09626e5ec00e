"""The question bank in Redis: ``questions`` (question id -> document)."""

from __future__ import annotations

from typing import Any

from store.codec import dumps, loads
from store.protocols import QuestionStore
from store.redis.connection import RedisConnection


class RedisQuestions(RedisConnection, QuestionStore):
    def put_question(self, tenant: str, question_id: str, question: dict[str, Any]) -> bool:
        return bool(self.r.hset(self._t(tenant) + "questions", question_id, dumps(question)))

    def list_questions(self, tenant: str) -> dict[str, dict[str, Any]]:
        found = self.r.hgetall(self._t(tenant) + "questions")
        return {qid: loads(found[qid]) for qid in sorted(found)}

    def delete_question(self, tenant: str, question_id: str) -> bool:
        return bool(self.r.hdel(self._t(tenant) + "questions", question_id))
