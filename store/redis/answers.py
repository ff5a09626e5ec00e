"""Answers in Redis: ``ans:<customer>`` (question id -> the latest answer) and ``anscust``
(customers with answers), written together with a new serving version of the customer (a stated
preference changes their recommendations)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from store.codec import dumps, loads
from store.protocols import AnswerStore
from store.redis.aliases import TOUCH_CUSTOMERS
from store.redis.connection import RedisConnection


class RedisAnswers(RedisConnection, AnswerStore):
    def put_answer(self, tenant: str, customer_id: str, answer: dict[str, Any]) -> None:
        t = self._t(tenant)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(t + "ans:" + customer_id, answer["question_id"], dumps(answer))
        pipe.sadd(t + "anscust", customer_id)
        # a stated preference changes what is recommended: cached answers go stale
        self._run(TOUCH_CUSTOMERS, [t, customer_id], client=pipe)
        pipe.execute()

    def list_answers(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        docs = [loads(d) for d in self.r.hvals(self._t(tenant) + "ans:" + customer_id)]
        docs.sort(key=lambda a: a["question_id"])
        docs.sort(key=lambda a: a["timestamp"], reverse=True)
        return docs

    def iter_answers(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        t = self._t(tenant)
        customers = sorted(self.r.smembers(t + "anscust"))
        for start in range(0, len(customers), 500):
            chunk = customers[start : start + 500]
            pipe = self.r.pipeline(transaction=False)
            for c in chunk:
                pipe.hvals(t + "ans:" + c)
            for c, docs in zip(chunk, pipe.execute(), strict=True):
                for doc in docs:
                    yield c, loads(doc)
