"""Per-customer documents keyed by a tenant-wide id, in Redis: what contacts and cases share.

For a kind ``k`` (``ct`` contacts, ``cs`` cases): ``<k>d:<customer>`` (id -> document),
``<k>s:<customer>`` (ids scored by time, for newest-first pages), ``<k>own`` (id -> the customer
holding it) and ``<k>cust`` (customers with any). One Lua script writes all four at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from store.codec import dumps, loads
from store.redis.connection import RedisConnection
from store.redis.customers import TOUCH_PORTFOLIO

# ARGV: tenant prefix, kind, customer id, record id, time, doc, mode ('add': keep a held id;
# 'put': replace it, moving it from the customer who held it). Returns the previous holder.
# Every write gives the portfolio of the customer (and of the previous holder) a new version.
PUT_RECORD = (
    TOUCH_PORTFOLIO
    + """
local p, k, cid, id, ts, doc, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local held = redis.call('HGET', p .. k .. 'own', id)
if held and mode == 'add' then return held end
touch_portfolio(p, manager_of(p, cid))
if held and held ~= cid then
  touch_portfolio(p, manager_of(p, held))
  redis.call('HDEL', p .. k .. 'd:' .. held, id)
  redis.call('ZREM', p .. k .. 's:' .. held, id)
  if redis.call('EXISTS', p .. k .. 'd:' .. held) == 0 then redis.call('SREM', p .. k .. 'cust', held) end
end
redis.call('HSET', p .. k .. 'own', id, cid)
redis.call('HSET', p .. k .. 'd:' .. cid, id, doc)
redis.call('ZADD', p .. k .. 's:' .. cid, ts, id)
redis.call('SADD', p .. k .. 'cust', cid)
return held
"""
)


def erase_step(kind: str) -> str:
    """The Lua erasure step of a kind (inside ``store.redis.erasure``'s script)."""
    return f"""
for _, id in ipairs(redis.call('HKEYS', p .. '{kind}d:' .. cid)) do
  redis.call('HDEL', p .. '{kind}own', id)
end
held = held + redis.call('DEL', p .. '{kind}d:' .. cid, p .. '{kind}s:' .. cid)
redis.call('SREM', p .. '{kind}cust', cid)"""


class RedisRecords(RedisConnection):
    """The shared reads and writes of :data:`PUT_RECORD` kinds."""

    def _put_record(
        self, kind: str, tenant: str, cid: str, rid: str, ts: float, doc: dict[str, Any], mode: str
    ) -> str | None:
        args = [self._t(tenant), kind, cid, rid, repr(float(ts)), dumps(doc), mode]
        held = self._run(PUT_RECORD, args)
        return str(held) if held else None

    def _get_record(self, kind: str, tenant: str, rid: str) -> tuple[str, dict[str, Any]] | None:
        t = self._t(tenant)
        cid = self.r.hget(t + kind + "own", rid)
        if cid is None:
            return None
        doc = self.r.hget(t + kind + "d:" + cid, rid)
        return (cid, loads(doc)) if doc else None

    def _list_records(
        self, kind: str, tenant: str, cid: str, offset: int, limit: int | None
    ) -> list[dict[str, Any]]:
        t = self._t(tenant)
        stop = -1 if limit is None else offset + limit - 1
        if limit == 0:
            return []
        ids = self.r.zrevrange(t + kind + "s:" + cid, offset, stop)
        if not ids:
            return []
        return [loads(d) for d in self.r.hmget(t + kind + "d:" + cid, ids) if d]

    def _records_of(
        self, kind: str, tenant: str, customer_ids: Sequence[str], limit: int | None
    ) -> dict[str, list[dict[str, Any]]]:
        """Each customer's records, newest first, at most ``limit`` each: two pipelined round
        trips per 500 customers (their newest ids, then those documents)."""
        t = self._t(tenant)
        ids = list(dict.fromkeys(customer_ids))
        stop = -1 if limit is None else limit - 1
        out: dict[str, list[dict[str, Any]]] = {}
        if limit == 0:
            return out
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            pipe = self.r.pipeline(transaction=False)
            for c in chunk:
                pipe.zrevrange(t + kind + "s:" + c, 0, stop)
            held = [(c, rids) for c, rids in zip(chunk, pipe.execute(), strict=True) if rids]
            pipe = self.r.pipeline(transaction=False)
            for c, rids in held:
                pipe.hmget(t + kind + "d:" + c, rids)
            for (c, _), docs in zip(held, pipe.execute(), strict=True):
                found = [loads(d) for d in docs if d]
                if found:
                    out[c] = found
        return out

    def _iter_records(self, kind: str, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        t = self._t(tenant)
        customers = sorted(self.r.smembers(t + kind + "cust"))
        for start in range(0, len(customers), 500):
            chunk = customers[start : start + 500]
            pipe = self.r.pipeline(transaction=False)
            for c in chunk:
                pipe.hvals(t + kind + "d:" + c)
            for c, docs in zip(chunk, pipe.execute(), strict=True):
                for doc in docs:
                    yield c, loads(doc)
