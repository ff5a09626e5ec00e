"""Events, history rows and serving versions in Redis.

Per tenant: ``eids`` (event id -> customer, the idempotency index), ``ev:<customer>`` (the
customer's event documents), ``evcust`` (customers with events), ``nevents``; the history row is
``ciw:``/``cip:``/``cit:``/``cik:<customer>`` (weights, purchased flags, last times, interaction
kinds as ``core.records.kind_bit`` masks; rows written before ``cik`` existed read their
purchase bit from ``cip``); the serving version
is ``cver:<customer>``, drawn from ``counter:customers``. A batch is one Lua script: atomic.
A batch naming an alias (``aliases``, see :mod:`store.redis.aliases`) is refused by the script
and sent again under the merged ids, so no event lands under an id merged away.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from core.errors import Unavailable
from core.records import Event, EventFrame, FrameBuilder, kind_bit
from store.codec import decode_event, event_doc, loads
from store.protocols import CustomerItems, EventStore, ServingVersions
from store.redis.connection import RedisConnection

# ARGV: tenant prefix, then 8 fields per event: event_id, customer_id, doc, item_id, weight
# ('' when the history is not updated), purchased ('1'/'0'), timestamp, kind bit (0 for none).
ADD_EVENTS = """
local p = ARGV[1]
local out = {}
local added = 0
local touched = {}
local n = (#ARGV - 1) / 8
-- an event under an alias (a merged id) is refused as a whole: the caller re-addresses it
if redis.call('EXISTS', p .. 'aliases') == 1 then
  for i = 0, n - 1 do
    if redis.call('HEXISTS', p .. 'aliases', ARGV[3 + i * 8]) == 1 then return {-1} end
  end
end
for i = 0, n - 1 do
  local b = 2 + i * 8
  local eid, cid, doc, item, w, bought, ts, kind =
    ARGV[b], ARGV[b+1], ARGV[b+2], ARGV[b+3], ARGV[b+4], ARGV[b+5], ARGV[b+6], tonumber(ARGV[b+7])
  if redis.call('HSETNX', p .. 'eids', eid, cid) == 1 then
    redis.call('RPUSH', p .. 'ev:' .. cid, doc)
    redis.call('SADD', p .. 'evcust', cid)
    added = added + 1
    if item ~= '' and w ~= '' then
      redis.call('HINCRBYFLOAT', p .. 'ciw:' .. cid, item, w)
      if bought == '1' then redis.call('HSET', p .. 'cip:' .. cid, item, '1') end
      local old = redis.call('HGET', p .. 'cit:' .. cid, item)
      if (not old) or tonumber(old) < tonumber(ts) then
        redis.call('HSET', p .. 'cit:' .. cid, item, ts)
      end
      if kind ~= 0 then
        local had = tonumber(redis.call('HGET', p .. 'cik:' .. cid, item) or '0')
        redis.call('HSET', p .. 'cik:' .. cid, item, bit.bor(had, kind))
      end
      -- an impression (weight 0) leaves the customer's answer as it was
      if tonumber(w) ~= 0 or kind ~= 0 then touched[cid] = true end
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
if added > 0 then redis.call('INCRBY', p .. 'nevents', added) end
if next(touched) then
  local v = redis.call('INCR', p .. 'counter:customers')
  for cid in pairs(touched) do redis.call('SET', p .. 'cver:' .. cid, v) end
end
return out
"""


# ARGV: tenant prefix, customer id. The versions of the customer an alias was merged into, and
# that customer's id ('' when the id is not an alias), in one round trip.
SERVING_VERSIONS = """
local p = ARGV[1]
local merged = redis.call('HGET', p .. 'aliases', ARGV[2])
local id = merged or ARGV[2]
return {redis.call('GET', p .. 'counter:catalog') or '0', redis.call('GET', p .. 'cver:' .. id) or '',
        redis.call('GET', p .. 'counter:erasures') or '0', merged or ''}
"""

#: Rounds of re-addressing events sent under aliases before giving up (a merge per round).
MAX_READDRESS = 5


def event_args(prefix: str, events: Sequence[Event], weights: Sequence[float] | None) -> list[Any]:
    """ARGV of :data:`ADD_EVENTS` for ``events`` under the tenant key prefix ``prefix``."""
    args: list[Any] = [prefix]
    for i, e in enumerate(events):
        w = repr(float(weights[i])) if (weights is not None and e.item_id) else ""
        args.extend(
            (
                e.event_id,
                e.customer_id,
                event_doc(e),
                e.item_id or "",
                w,
                "1" if e.type == "purchase" else "0",
                repr(float(e.timestamp)),
                str(kind_bit(e.type)),
            )
        )
    return args


def _sorted(events: list[Event]) -> list[Event]:
    events.sort(key=lambda e: (e.timestamp, e.event_id))
    return events


class RedisEvents(RedisConnection, EventStore):
    def add_events(
        self, tenant: str, events: Sequence[Event], weights: Sequence[float] | None = None
    ) -> list[bool]:
        if not events:
            return []
        for _ in range(MAX_READDRESS):
            flags = self._run(ADD_EVENTS, event_args(self._t(tenant), events, weights))
            if flags != [-1]:
                return [bool(f) for f in flags]
            events = self._readdress(tenant, events)
        raise Unavailable("customers kept being merged while their events were written; retry")

    def _readdress(self, tenant: str, events: Sequence[Event]) -> list[Event]:
        """The events with each alias replaced by the customer it was merged into."""
        unique = list(dict.fromkeys(e.customer_id for e in events))
        found = self.r.hmget(self._t(tenant) + "aliases", unique)
        to = {c: a for c, a in zip(unique, found, strict=True) if a}
        return [
            replace(e, customer_id=to[e.customer_id]) if e.customer_id in to else e for e in events
        ]

    def customer_events(self, tenant: str, customer_id: str) -> list[Event]:
        docs = self.r.lrange(self._t(tenant) + "ev:" + customer_id, 0, -1)
        return _sorted([decode_event(d) for d in docs])

    def customers_events_frame(
        self, tenant: str, customer_ids: Sequence[str], types: Sequence[str] | None = None
    ) -> EventFrame:
        t = self._t(tenant)
        wanted = set(types) if types is not None else None
        pipe = self.r.pipeline(transaction=False)
        for c in dict.fromkeys(customer_ids):
            pipe.lrange(t + "ev:" + c, 0, -1)
        events = [
            e
            for docs in pipe.execute()
            for e in map(decode_event, docs)
            if wanted is None or e.type in wanted
        ]
        return EventFrame.from_events(_sorted(events))

    def events_frame(
        self,
        tenant: str,
        types: Sequence[str] | None = None,
        before: float | None = None,
    ) -> EventFrame:
        wanted = set(types) if types is not None else None
        # Document by document into numpy chunks (FrameBuilder keeps each distinct id once):
        # a job over millions of events never holds them all as Python objects.
        frame = FrameBuilder()
        for doc in self._event_docs(tenant):
            d = loads(doc)  # the fields of store.codec.event_doc, read without building Events
            if (wanted is not None and d["t"] not in wanted) or (
                before is not None and d["ts"] >= before
            ):
                continue
            frame.add(d["c"], d["it"], d["t"], d["ts"], d["q"], d["v"])
        built = frame.frame()
        return built.select(np.argsort(built.timestamp, kind="stable"))

    def iter_events(self, tenant: str, types: Sequence[str] | None = None) -> Iterator[Event]:
        wanted = set(types) if types is not None else None
        for doc in self._event_docs(tenant):
            event = decode_event(doc)
            if wanted is None or event.type in wanted:
                yield event

    def _event_docs(self, tenant: str) -> Iterator[str]:
        """Every stored event document of the tenant, customer by customer (pipelined)."""
        t = self._t(tenant)
        customers = sorted(self.r.smembers(t + "evcust"))
        for start in range(0, len(customers), 500):
            pipe = self.r.pipeline(transaction=False)
            for c in customers[start : start + 500]:
                pipe.lrange(t + "ev:" + c, 0, -1)
            for docs in pipe.execute():
                yield from docs

    def count_events(self, tenant: str) -> int:
        return int(self.r.get(self._t(tenant) + "nevents") or 0)

    def customer_items(self, tenant: str, customer_id: str) -> CustomerItems:
        t = self._t(tenant)
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(t + "ciw:" + customer_id)
        pipe.hgetall(t + "cip:" + customer_id)
        pipe.hgetall(t + "cit:" + customer_id)
        pipe.hgetall(t + "cik:" + customer_id)
        w, p, ts, k = pipe.execute()
        ids = sorted(w)
        bought = kind_bit("purchase")
        return CustomerItems(
            item_ids=ids,
            weights=[float(w[i]) for i in ids],
            purchased=[i in p for i in ids],
            last_ts=[float(ts.get(i, 0.0)) for i in ids],
            kinds=[int(k.get(i, 0)) | (bought if i in p else 0) for i in ids],
        )

    def serving_versions(self, tenant: str, customer_id: str) -> ServingVersions:
        catalog, customer, erasures, merged = self._run(
            SERVING_VERSIONS, [self._t(tenant), customer_id]
        )
        # no version reads as minus the tenant's erasure count (see EventStore.serving_versions)
        return ServingVersions(
            int(catalog), int(customer) if customer else -int(erasures), merged or None
        )
