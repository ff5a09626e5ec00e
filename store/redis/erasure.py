"""Erasure in Redis: one Lua script, assembled from one step per kind of customer data.

The script runs atomically, so no reader sees a half-erased customer. Redis keeps no deleted
value in memory, but its files can: an AOF still holds the commands that wrote the erased data
until it is rewritten, so run ``BGREWRITEAOF`` after erasures (or on a schedule shorter than
the erasure deadline you promise); an RDB snapshot holds it until the next save replaces it,
and replicas and backups keep their own copies.
"""

from __future__ import annotations

from store.codec import CustomerData, erasure_steps
from store.protocols import ErasureStore
from store.redis.connection import RedisConnection
from store.redis.customers import TOUCH_PORTFOLIO
from store.redis.records import erase_step

# Each step adds to `held` what it found, so the script can tell "nothing held" apart.
_STEPS = erasure_steps(
    "redis",
    {
        CustomerData.PROFILE: """
local prof = redis.call('HGET', p .. 'customers', cid)
if prof then
  local am = cjson.decode(prof)['account_manager']
  if am and am ~= cjson.null then redis.call('SREM', p .. 'am:' .. am, cid) end
  touch_portfolio(p, am)
  held = held + redis.call('HDEL', p .. 'customers', cid)
end""",
        CustomerData.EVENTS: """
local docs = redis.call('LRANGE', p .. 'ev:' .. cid, 0, -1)
for _, doc in ipairs(docs) do
  redis.call('HDEL', p .. 'eids', cjson.decode(doc)['i'])
end
if #docs > 0 then redis.call('DECRBY', p .. 'nevents', #docs) end
held = held + redis.call('DEL', p .. 'ev:' .. cid)
redis.call('SREM', p .. 'evcust', cid)""",
        CustomerData.HISTORY: """
held = held + redis.call('DEL', p .. 'ciw:' .. cid, p .. 'cip:' .. cid, p .. 'cit:' .. cid,
                         p .. 'cik:' .. cid)""",
        CustomerData.SERVING_VERSION: """
held = held + redis.call('DEL', p .. 'cver:' .. cid)""",
        # the row, and the one a running job has staged (it would land after the erasure)
        CustomerData.INSIGHTS: """
held = held + redis.call('HDEL', p .. 'irows', cid)
for _, run in ipairs(redis.call('SMEMBERS', p .. 'irows:staging')) do
  held = held + redis.call('HDEL', p .. 'irows:staged:' .. run, cid)
end""",
        CustomerData.INSIGHTS_HISTORY: """
held = held + redis.call('DEL', p .. 'ihist:' .. cid)""",
        CustomerData.CONFIGURATIONS: """
held = held + redis.call('DEL', p .. 'cfg:' .. cid)""",
        CustomerData.CONTACTS: erase_step("ct"),
        CustomerData.CASES: erase_step("cs"),
        CustomerData.ANSWERS: """
held = held + redis.call('DEL', p .. 'ans:' .. cid)
redis.call('SREM', p .. 'anscust', cid)""",
        CustomerData.ALIASES: """
for _, a in ipairs(redis.call('SMEMBERS', p .. 'aka:' .. cid)) do
  redis.call('HDEL', p .. 'aliases', a)
  redis.call('DEL', p .. 'cver:' .. a)
end
held = held + redis.call('DEL', p .. 'aka:' .. cid)""",
    },
)

# ARGV: tenant prefix, customer id. Returns how many keys/fields held the customer.
ERASE_CUSTOMER = (
    TOUCH_PORTFOLIO
    + "local p, cid = ARGV[1], ARGV[2]\nlocal held = 0"
    + "".join(_STEPS)
    + "\nif held > 0 then redis.call('INCR', p .. 'counter:erasures') end\nreturn held\n"
)


class RedisErasure(RedisConnection, ErasureStore):
    def erase_customer(self, tenant: str, customer_id: str) -> bool:
        return int(self._run(ERASE_CUSTOMER, [self._t(tenant), customer_id])) > 0
