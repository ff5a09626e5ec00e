"""Customer-value insights in Redis: ``insights`` (the summary), ``irows`` (customer -> row),
``ihist:<customer>`` (their entry at each run, a list), ``iruns`` (runs whose summary landed) and
``iset:<name>`` (setting versions, a hash; ``iset:<name>:v`` the newest).

A job run streams its rows into ``irows:staged:<run>`` chunk by chunk, where no reader looks,
and one MULTI/EXEC then renames that table to ``irows`` with the summary."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from store.codec import dumps, loads
from store.protocols import InsightsStore
from store.redis.connection import RedisConnection
from store.redis.customers import TOUCH_ALL_PORTFOLIOS, TOUCH_PORTFOLIOS_OF

_CHUNK = 5000
#: A run's staged rows (``irows:staged:<run>``), renamed to ``irows`` when the run commits.
STAGED = "irows:staged:"
#: Runs being staged (an erasure removes its customer from their tables too).
STAGING = "irows:staging"
#: Staged runs that pushed history entries (listed in ``iruns`` when they commit).
STAGED_HISTORY = "irows:staging:history"

# KEYS: version counter, versions hash; ARGV: document. A new version and its document at once.
_PUT_SETTING = """
local v = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], v, ARGV[1])
return v
"""


class RedisInsights(RedisConnection, InsightsStore):
    def put_insights(
        self,
        tenant: str,
        summary: dict[str, Any],
        rows: dict[str, dict[str, Any]],
        history: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        run = str(summary.get("computed_at", ""))
        items = list(rows.items())
        for start in range(0, max(len(items), 1), _CHUNK):
            chunk = dict(items[start : start + _CHUNK])
            self.stage_insights(tenant, run, chunk, history if start == 0 else None)
        self.commit_insights(tenant, run, summary)

    def stage_insights(
        self,
        tenant: str,
        run: str,
        rows: dict[str, dict[str, Any]],
        history: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        t = self._t(tenant)
        self.r.sadd(t + STAGING, run)  # first: an erasure meanwhile looks in its table too
        items = [(cid, dumps(row)) for cid, row in rows.items()]
        for start in range(0, len(items), _CHUNK):
            self.r.hset(t + STAGED + run, mapping=dict(items[start : start + _CHUNK]))
        # History entries go in at once; readers show only runs listed in `iruns`, which is set
        # in the same transaction as the summary, so a run that fails midway leaves none visible.
        entries = list((history or {}).items())
        for start in range(0, len(entries), _CHUNK):
            pipe = self.r.pipeline(transaction=False)
            for cid, entry in entries[start : start + _CHUNK]:
                pipe.rpush(t + "ihist:" + cid, dumps({**entry, "_run": run}))
            pipe.execute()
        if entries:
            self.r.sadd(t + STAGED_HISTORY, run)

    def commit_insights(self, tenant: str, run: str, summary: dict[str, Any]) -> None:
        t = self._t(tenant)
        with_history = bool(self.r.sismember(t + STAGED_HISTORY, run))
        pipe = self.r.pipeline(transaction=True)
        self._run(TOUCH_ALL_PORTFOLIOS, [t], client=pipe)
        if self.r.exists(t + STAGED + run):
            pipe.rename(t + STAGED + run, t + "irows")  # the whole table at once
        else:
            pipe.delete(t + "irows")
        pipe.set(t + "insights", dumps(summary))
        if with_history:
            pipe.sadd(t + "iruns", run)
        pipe.srem(t + STAGING, run)
        pipe.srem(t + STAGED_HISTORY, run)
        pipe.execute()

    def discard_insights(self, tenant: str, run: str) -> None:
        t = self._t(tenant)
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(t + STAGED + run)
        pipe.srem(t + STAGING, run)
        pipe.srem(t + STAGED_HISTORY, run)
        pipe.execute()

    def get_insights_summary(self, tenant: str) -> dict[str, Any] | None:
        doc = self.r.get(self._t(tenant) + "insights")
        return loads(doc) if doc else None

    def get_insights_row(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        doc = self.r.hget(self._t(tenant) + "irows", customer_id)
        return loads(doc) if doc else None

    def get_insights_rows(
        self, tenant: str, customer_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        ids = list(dict.fromkeys(customer_ids))
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            docs = self.r.hmget(self._t(tenant) + "irows", chunk)
            out.update((c, loads(d)) for c, d in zip(chunk, docs, strict=True) if d)
        return out

    def put_insights_rows(self, tenant: str, rows: dict[str, dict[str, Any]]) -> None:
        if rows:
            t = self._t(tenant)
            docs: dict[str | bytes, str] = {cid: dumps(row) for cid, row in rows.items()}
            pipe = self.r.pipeline(transaction=True)  # the rows and their portfolios' versions
            pipe.hset(t + "irows", mapping=docs)
            ids = list(rows)
            for start in range(0, len(ids), _CHUNK):
                self._run(TOUCH_PORTFOLIOS_OF, [t, *ids[start : start + _CHUNK]], client=pipe)
            pipe.execute()

    def get_insights_history(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        t = self._t(tenant)
        pipe = self.r.pipeline(transaction=True)
        pipe.lrange(t + "ihist:" + customer_id, 0, -1)
        pipe.smembers(t + "iruns")
        docs, runs = pipe.execute()
        landed = {r.decode() if isinstance(r, bytes) else r for r in runs}
        out: dict[str, dict[str, Any]] = {}
        for doc in docs:
            entry = loads(doc)
            run = entry.pop("_run", "")
            if run in landed:
                out[run] = entry  # a run retried after a failure keeps its last entry
        return [out[r] for r in sorted(out)]

    def iter_insights_rows(
        self, tenant: str, after: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        key = self._t(tenant) + "irows"
        ids = sorted(
            k.decode() if isinstance(k, bytes) else k for k in self.r.hkeys(key)
        )  # a hash has no order: the ids are sorted here (one read of the keys per scan)
        if after is not None:
            ids = [c for c in ids if c > after]
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for cid, doc in zip(chunk, self.r.hmget(key, chunk), strict=True):
                if doc is not None:  # erased since the keys were read
                    yield cid, loads(doc)

    def get_insights_setting(self, tenant: str, name: str) -> tuple[int, dict[str, Any]] | None:
        t = self._t(tenant)
        version = self.r.get(t + f"iset:{name}:v")
        if version is None:
            return None
        doc = self.r.hget(t + f"iset:{name}", version)
        return (int(version), loads(doc)) if doc is not None else None

    def put_insights_setting(self, tenant: str, name: str, doc: dict[str, Any]) -> int:
        t = self._t(tenant)
        script = self._script(_PUT_SETTING)
        return int(script(keys=[t + f"iset:{name}:v", t + f"iset:{name}"], args=[dumps(doc)]))
