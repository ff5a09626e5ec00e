"""Customer profiles in Redis: ``customers`` (id -> the codec's document) and ``am:<manager>``
(the ids each account manager looks after), kept in step by one Lua script.

A portfolio's version is ``pver:<manager>``, drawn from ``counter:portfolios`` by every script
that changes what the manager's worklist reads (:data:`TOUCH_PORTFOLIO`); ``pverall`` is the
value at the last insights run, which rewrites every portfolio's rows at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import redis

from core.errors import Unavailable
from core.records import Customer
from store.codec import customer_doc, decode_customer
from store.protocols import CustomerStore
from store.redis.connection import RedisConnection

# Lua functions for scripts that change a portfolio: its new version, the manager of a customer.
TOUCH_PORTFOLIO = """
local function touch_portfolio(p, am)
  if am and am ~= '' and am ~= cjson.null then
    redis.call('SET', p .. 'pver:' .. am, redis.call('INCR', p .. 'counter:portfolios'))
  end
end
local function manager_of(p, cid)
  local doc = redis.call('HGET', p .. 'customers', cid)
  if doc then return cjson.decode(doc)['account_manager'] end
  return nil
end
"""

# ARGV: tenant prefix, then customer ids: the portfolios holding them get a new version.
TOUCH_PORTFOLIOS_OF = (
    TOUCH_PORTFOLIO
    + """
local seen = {}
for i = 2, #ARGV do
  local am = manager_of(ARGV[1], ARGV[i])
  if am and am ~= cjson.null and not seen[am] then
    seen[am] = true
    touch_portfolio(ARGV[1], am)
  end
end
"""
)

# ARGV: tenant prefix. Every portfolio of the tenant gets a new version (an insights run).
TOUCH_ALL_PORTFOLIOS = """
redis.call('SET', ARGV[1] .. 'pverall', redis.call('INCR', ARGV[1] .. 'counter:portfolios'))
"""

# ARGV: tenant prefix, customer id, doc (JSON), new manager ('' for none).
PUT_CUSTOMER = (
    TOUCH_PORTFOLIO
    + """
local p, cid, doc, am = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local old = redis.call('HGET', p .. 'customers', cid)
if old then
  local prev = cjson.decode(old)['account_manager']
  if prev and prev ~= cjson.null then
    redis.call('SREM', p .. 'am:' .. prev, cid)
    if prev ~= am then touch_portfolio(p, prev) end
  end
end
redis.call('HSET', p .. 'customers', cid, doc)
if am ~= '' then redis.call('SADD', p .. 'am:' .. am, cid) end
touch_portfolio(p, am)
redis.call('SET', p .. 'cver:' .. cid, redis.call('INCR', p .. 'counter:customers'))
if old then return 0 else return 1 end
"""
)


#: Attempts of a read-change-write before giving up (each retry: a concurrent write won).
MAX_UPDATE_ATTEMPTS = 50


class RedisCustomers(RedisConnection, CustomerStore):
    def put_customer(self, tenant: str, customer: Customer) -> bool:
        return self.put_customers(tenant, [customer])[0]

    def put_customers(self, tenant: str, customers: Sequence[Customer]) -> list[bool]:
        if not customers:
            return []
        now = time.time()
        t = self._t(tenant)
        created_at: dict[str, float] = {}
        ids = list(dict.fromkeys(c.customer_id for c in customers))
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            for cid, doc in zip(chunk, self.r.hmget(t + "customers", chunk), strict=True):
                if doc:
                    created_at[cid] = decode_customer(cid, doc).created_at
        pipe = self.r.pipeline(transaction=True)  # MULTI/EXEC: the whole batch at once
        for c in customers:
            doc = customer_doc(c, created_at.get(c.customer_id, now), now)
            self._run(PUT_CUSTOMER, [t, c.customer_id, doc, c.account_manager or ""], client=pipe)
        return [bool(flag) for flag in pipe.execute()]

    def update_customer(
        self, tenant: str, customer_id: str, change: Callable[[Customer | None], Customer]
    ) -> tuple[bool, Customer]:
        # Optimistic: WATCH the customer's serving version, which every write of the profile
        # (put, merge, erasure) moves; if it moved before EXEC, read and change again.
        t = self._t(tenant)
        for _ in range(MAX_UPDATE_ATTEMPTS):
            with self.r.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(t + "cver:" + customer_id)
                    held: str | None = pipe.hget(t + "customers", customer_id)  # type: ignore[assignment]
                    old = decode_customer(customer_id, held) if held else None
                    new = change(old)
                    now = time.time()
                    pipe.multi()
                    doc = customer_doc(new, old.created_at if old else now, now)
                    am = new.account_manager or ""
                    self._run(PUT_CUSTOMER, [t, customer_id, doc, am], client=pipe)
                    pipe.execute()
                except redis.WatchError:
                    continue
            return old is None, decode_customer(customer_id, doc)
        raise Unavailable(f"customer '{customer_id}' kept changing during the update; retry it")

    def get_customer(self, tenant: str, customer_id: str) -> Customer | None:
        doc = self.r.hget(self._t(tenant) + "customers", customer_id)
        return decode_customer(customer_id, doc) if doc else None

    def customer_known(self, tenant: str, customer_id: str) -> bool:
        t = self._t(tenant)
        pipe = self.r.pipeline(transaction=False)
        pipe.hexists(t + "customers", customer_id)
        pipe.sismember(t + "evcust", customer_id)
        return any(pipe.execute())

    def customers_of_manager(self, tenant: str, manager_id: str) -> list[Customer]:
        t = self._t(tenant)
        ids = sorted(self.r.smembers(t + "am:" + manager_id))
        if not ids:
            return []
        docs = self.r.hmget(t + "customers", ids)
        return [decode_customer(c, d) for c, d in zip(ids, docs, strict=True) if d]

    def portfolio_version(self, tenant: str, manager_id: str) -> int:
        t = self._t(tenant)
        own, everyone = self.r.mget(t + "pver:" + manager_id, t + "pverall")
        return max(int(own or 0), int(everyone or 0))

    def iter_customers(self, tenant: str) -> Iterator[Customer]:
        found = [
            decode_customer(cid, doc)
            for cid, doc in self.r.hscan_iter(self._t(tenant) + "customers", count=1000)
        ]
        yield from sorted(found, key=lambda c: c.customer_id)
