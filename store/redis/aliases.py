"""Merges and aliases in Redis: ``aliases`` (alias -> customer) and ``aka:<customer>`` (the ids
merged into it).

A merge reads what the sources hold under ``WATCH`` and writes every move in one MULTI/EXEC:
if anything it read changes before the EXEC (an event for a source, a profile write), Redis
refuses the transaction and the merge starts again from fresh reads, so it is all or nothing
and never loses a concurrent write. Events sent under an alias afterwards are re-addressed by
:mod:`store.redis.events`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import redis

from core.errors import Unavailable
from store.codec import customer_doc, decode_customer, dumps, loads, merge_profiles
from store.protocols import AliasStore, MergeCounts
from store.redis.connection import RedisConnection
from store.redis.customers import TOUCH_PORTFOLIOS_OF

# ARGV: tenant prefix, then customer ids: each gets one new serving version.
TOUCH_CUSTOMERS = """
local p = ARGV[1]
local v = redis.call('INCR', p .. 'counter:customers')
for i = 2, #ARGV do redis.call('SET', p .. 'cver:' .. ARGV[i], v) end
return v
"""

#: Merge attempts before giving up (each retry means a concurrent write touched a source).
MAX_ATTEMPTS = 20

_PER_SOURCE = (
    "ev:",
    "ciw:",
    "cip:",
    "cit:",
    "cik:",
    "cfg:",
    "ctd:",
    "cts:",
    "csd:",
    "css:",
    "ans:",
    "aka:",
    "ihist:",  # a source's past insights rows go: the merged history is the survivor's
)


class RedisAliases(RedisConnection, AliasStore):
    def merge_customers(self, tenant: str, into: str, sources: Sequence[str]) -> MergeCounts:
        srcs = [s for s in dict.fromkeys(sources) if s != into]
        if not srcs:
            return MergeCounts()
        t = self._t(tenant)
        watched = [t + "customers", t + "aliases", t + "ans:" + into]
        watched += [t + "cit:" + into, t + "cik:" + into]
        watched += [t + k + s for s in srcs for k in _PER_SOURCE]
        for _ in range(MAX_ATTEMPTS):
            with self.r.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(*watched)
                    counts = self._merge(pipe, t, into, srcs)
                    pipe.execute()
                    return counts
                except redis.WatchError:
                    continue
        raise Unavailable(f"customer '{into}' kept changing during the merge; retry it")

    def _merge(self, pipe: Any, t: str, into: str, srcs: list[str]) -> MergeCounts:
        """Read the sources (immediate mode under WATCH), then queue every write (MULTI)."""
        reads = {s: self._read_source(pipe, t, s) for s in srcs}
        profiles = pipe.hmget(t + "customers", [into, *srcs])
        target_times = pipe.hgetall(t + "cit:" + into)
        target_kinds = pipe.hgetall(t + "cik:" + into)
        target_answers = {q: loads(d) for q, d in pipe.hgetall(t + "ans:" + into).items()}
        staging = sorted(pipe.smembers(t + "irows:staging"))  # a running job's staged rows
        pipe.multi()
        self._run(TOUCH_PORTFOLIOS_OF, [t, into, *srcs], client=pipe)  # the managers before
        counts = MergeCounts()
        counts.profiles = self._queue_profile(pipe, t, into, srcs, profiles)
        answers: dict[str, dict[str, Any]] = {}
        for s in srcs:
            self._queue_moves(pipe, t, into, s, reads[s], target_times, counts)
            for item, mask in reads[s]["cik"].items():
                target_kinds[item] = str(int(target_kinds.get(item, 0)) | int(mask))
                pipe.hset(t + "cik:" + into, item, target_kinds[item])
            for q, doc in reads[s]["ans"].items():
                answer = loads(doc)
                best = answers.get(q) or target_answers.get(q)
                if best is None or answer["timestamp"] > best["timestamp"]:
                    answers[q] = answer
                counts.answers += 1
        if answers:
            pipe.hset(t + "ans:" + into, mapping={q: dumps(a) for q, a in answers.items()})
            pipe.sadd(t + "anscust", into)
        pipe.srem(t + "anscust", *srcs)
        pipe.hdel(t + "irows", *srcs)
        for run in staging:
            pipe.hdel(t + "irows:staged:" + run, *srcs)
        moved_aliases = [a for s in srcs for a in reads[s]["aka"]] + srcs
        pipe.hset(t + "aliases", mapping=dict.fromkeys(moved_aliases, into))
        pipe.sadd(t + "aka:" + into, *moved_aliases)
        self._run(TOUCH_CUSTOMERS, [t, into, *srcs], client=pipe)
        self._run(TOUCH_PORTFOLIOS_OF, [t, into], client=pipe)  # and the merged one's after
        return counts

    @staticmethod
    def _read_source(pipe: Any, t: str, s: str) -> dict[str, Any]:
        return {
            "ev": pipe.lrange(t + "ev:" + s, 0, -1),
            "ciw": pipe.hgetall(t + "ciw:" + s),
            "cip": pipe.hgetall(t + "cip:" + s),
            "cit": pipe.hgetall(t + "cit:" + s),
            "cik": pipe.hgetall(t + "cik:" + s),
            "cfg": pipe.lrange(t + "cfg:" + s, 0, -1),
            "ct": pipe.hgetall(t + "ctd:" + s),
            "cts": dict(pipe.zrange(t + "cts:" + s, 0, -1, withscores=True)),
            "cs": pipe.hgetall(t + "csd:" + s),
            "css": dict(pipe.zrange(t + "css:" + s, 0, -1, withscores=True)),
            "ans": pipe.hgetall(t + "ans:" + s),
            "aka": sorted(pipe.smembers(t + "aka:" + s)),
        }

    @staticmethod
    def _queue_profile(
        pipe: Any, t: str, into: str, srcs: list[str], docs: list[str | None]
    ) -> int:
        """Queue the merged profile's write and the sources' removal; how many it took in."""
        sources = [decode_customer(s, d) for s, d in zip(srcs, docs[1:], strict=True) if d]
        if not sources:
            return 0
        target = decode_customer(into, docs[0]) if docs[0] else None
        merged = merge_profiles(into, target, sources)
        assert merged is not None
        for old in [target, *sources]:
            if old is not None and old.account_manager:
                pipe.srem(t + "am:" + old.account_manager, old.customer_id)
        pipe.hdel(t + "customers", *(c.customer_id for c in sources))
        pipe.hset(t + "customers", into, customer_doc(merged, merged.created_at, time.time()))
        if merged.account_manager:
            pipe.sadd(t + "am:" + merged.account_manager, into)
        return len(sources)

    @staticmethod
    def _queue_moves(
        pipe: Any,
        t: str,
        into: str,
        s: str,
        got: dict[str, Any],
        target_times: dict[str, str],
        counts: MergeCounts,
    ) -> None:
        """Queue the moves of one source's events, history, configurations, contacts, cases."""
        if got["ev"]:
            docs = [{**loads(d), "c": into} for d in got["ev"]]
            for start in range(0, len(docs), 5000):
                chunk = docs[start : start + 5000]
                pipe.rpush(t + "ev:" + into, *map(dumps, chunk))
                pipe.hset(t + "eids", mapping={d["i"]: into for d in chunk})
            pipe.sadd(t + "evcust", into)
            counts.events += len(docs)
        pipe.srem(t + "evcust", s)
        for item, w in got["ciw"].items():
            pipe.hincrbyfloat(t + "ciw:" + into, item, float(w))
        if got["cip"]:
            pipe.hset(t + "cip:" + into, mapping=got["cip"])
        later = {
            item: ts
            for item, ts in got["cit"].items()
            if float(ts) > float(target_times.get(item, "-inf"))
        }
        target_times.update(later)
        if later:
            pipe.hset(t + "cit:" + into, mapping=later)
        counts.history_items += len(got["ciw"])
        if got["cfg"]:
            pipe.rpush(t + "cfg:" + into, *got["cfg"])
            counts.configurations += len(got["cfg"])
        for kind, scores in (("ct", "cts"), ("cs", "css")):
            if got[kind]:
                pipe.hset(t + kind + "d:" + into, mapping=got[kind])
                pipe.zadd(t + kind + "s:" + into, got[scores])
                pipe.hset(t + kind + "own", mapping=dict.fromkeys(got[kind], into))
                pipe.sadd(t + kind + "cust", into)
            pipe.srem(t + kind + "cust", s)
        counts.contacts += len(got["ct"])
        counts.cases += len(got["cs"])
        pipe.delete(*(t + k + s for k in _PER_SOURCE))

    def resolve_customers(self, tenant: str, customer_ids: Sequence[str]) -> dict[str, str]:
        unique = list(dict.fromkeys(customer_ids))
        if not unique:
            return {}
        found = self.r.hmget(self._t(tenant) + "aliases", unique)
        return {c: a for c, a in zip(unique, found, strict=True) if a}

    def aliases_of(self, tenant: str, customer_id: str) -> list[str]:
        return sorted(self.r.smembers(self._t(tenant) + "aka:" + customer_id))
