"""Customer-value insights in Redis: ``insights`` (the summary) and ``irows`` (customer -> row)."""

from __future__ import annotations

import uuid
from typing import Any

from store.codec import dumps, loads
from store.protocols import InsightsStore
from store.redis.connection import RedisConnection


class RedisInsights(RedisConnection, InsightsStore):
    def put_insights(
        self, tenant: str, summary: dict[str, Any], rows: dict[str, dict[str, Any]]
    ) -> None:
        t = self._t(tenant)
        summary_doc = dumps(summary)
        items = [(cid, dumps(row)) for cid, row in rows.items()]
        # Written under a temporary key, then renamed: readers never see a half-written table.
        tmp = t + "irows:tmp:" + uuid.uuid4().hex
        for start in range(0, len(items), 5000):
            self.r.hset(tmp, mapping=dict(items[start : start + 5000]))
        pipe = self.r.pipeline(transaction=True)
        if items:
            pipe.rename(tmp, t + "irows")
        else:
            pipe.delete(t + "irows")
        pipe.set(t + "insights", summary_doc)
        pipe.execute()

    def get_insights_summary(self, tenant: str) -> dict[str, Any] | None:
        doc = self.r.get(self._t(tenant) + "insights")
        return loads(doc) if doc else None

    def get_insights_row(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        doc = self.r.hget(self._t(tenant) + "irows", customer_id)
        return loads(doc) if doc else None

    def put_insights_rows(self, tenant: str, rows: dict[str, dict[str, Any]]) -> None:
        if rows:
            docs: dict[str | bytes, str] = {cid: dumps(row) for cid, row in rows.items()}
            self.r.hset(self._t(tenant) + "irows", mapping=docs)
