"""Redis store: what several workers and replicas share.

Key layout: every key of a tenant starts with ``<prefix>:{<tenant>}:`` so that, on Redis Cluster,
the hash tag puts a whole tenant in one slot and the Lua scripts that write several of its keys at
once stay slot-local. Multi-key writes (a batch of events with the history rows it updates, an
erasure) run as Lua scripts, so each is atomic. Durability of acknowledged events is Redis's own:
run it with ``appendonly yes`` / ``appendfsync always`` (or ``everysec``) in production.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import orjson
import redis

from core.records import ApiKey, Customer, Event, EventFrame, Item
from store.base import CustomerItems, ModelVersion, ServingVersions, Store

# ARGV: tenant prefix, then 7 fields per event: event_id, customer_id, doc, item_id, weight
# ('' when the history is not updated), purchased ('1'/'0'), timestamp.
_ADD_EVENTS = """
local p = ARGV[1]
local out = {}
local added = 0
local touched = {}
local n = (#ARGV - 1) / 7
for i = 0, n - 1 do
  local b = 2 + i * 7
  local eid, cid, doc, item, w, bought, ts =
    ARGV[b], ARGV[b+1], ARGV[b+2], ARGV[b+3], ARGV[b+4], ARGV[b+5], ARGV[b+6]
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
      -- an impression (weight 0) leaves the customer's answer as it was
      if tonumber(w) ~= 0 or bought == '1' then touched[cid] = true end
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

# ARGV: tenant prefix, customer id. Returns how many keys/fields held the customer.
_ERASE_CUSTOMER = """
local p, cid = ARGV[1], ARGV[2]
local held = 0
local docs = redis.call('LRANGE', p .. 'ev:' .. cid, 0, -1)
for _, doc in ipairs(docs) do
  redis.call('HDEL', p .. 'eids', cjson.decode(doc)['i'])
end
if #docs > 0 then
  redis.call('DECRBY', p .. 'nevents', #docs)
  held = held + 1
end
local prof = redis.call('HGET', p .. 'customers', cid)
if prof then
  local am = cjson.decode(prof)['account_manager']
  if am and am ~= cjson.null then redis.call('SREM', p .. 'am:' .. am, cid) end
  held = held + redis.call('HDEL', p .. 'customers', cid)
end
held = held + redis.call('DEL', p .. 'ev:' .. cid, p .. 'ciw:' .. cid, p .. 'cip:' .. cid,
                         p .. 'cit:' .. cid, p .. 'cfg:' .. cid, p .. 'cver:' .. cid)
held = held + redis.call('HDEL', p .. 'irows', cid)
redis.call('SREM', p .. 'evcust', cid)
if held > 0 then redis.call('INCR', p .. 'counter:erasures') end
return held
"""

# ARGV: tenant prefix, customer id, doc (JSON), new manager ('' for none), now.
_PUT_CUSTOMER = """
local p, cid, doc, am = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local old = redis.call('HGET', p .. 'customers', cid)
if old then
  local prev = cjson.decode(old)['account_manager']
  if prev and prev ~= cjson.null then redis.call('SREM', p .. 'am:' .. prev, cid) end
end
redis.call('HSET', p .. 'customers', cid, doc)
if am ~= '' then redis.call('SADD', p .. 'am:' .. am, cid) end
redis.call('SET', p .. 'cver:' .. cid, redis.call('INCR', p .. 'counter:customers'))
if old then return 0 else return 1 end
"""


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()


class RedisStore(Store):
    """The shared backend for several workers or replicas.

    Examples
    --------
    >>> store = RedisStore("redis://127.0.0.1:6379/0", prefix="atelier")   # doctest: +SKIP
    """

    backend = "redis"

    def __init__(self, url: str, prefix: str = "atelier") -> None:
        self.r = redis.Redis.from_url(url, decode_responses=True)
        self.prefix = prefix
        self._add_events = self.r.register_script(_ADD_EVENTS)
        self._erase = self.r.register_script(_ERASE_CUSTOMER)
        self._put_customer = self.r.register_script(_PUT_CUSTOMER)

    def _t(self, tenant: str) -> str:
        return f"{self.prefix}:{{{tenant}}}:"

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False

    def close(self) -> None:
        self.r.close()

    def clear(self) -> None:
        """Delete every key under this store's prefix (tests and resets)."""
        for key in self.r.scan_iter(match=f"{self.prefix}:*", count=1000):
            self.r.delete(key)

    # -- tenants and keys ----------------------------------------------------------------------
    def ensure_tenant(self, tenant: str) -> bool:
        return bool(self.r.sadd(f"{self.prefix}:tenants", tenant))

    def list_tenants(self) -> list[str]:
        return sorted(self.r.smembers(f"{self.prefix}:tenants"))

    def put_api_key(self, key: ApiKey, key_hash: str) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(
            f"{self.prefix}:apikey:{key_hash}",
            mapping={
                "key_id": key.key_id,
                "tenant": key.tenant,
                "scopes": ",".join(sorted(key.scopes)),
                "label": key.label or "",
                "created_at": repr(key.created_at),
                "revoked": "1" if key.revoked else "0",
            },
        )
        pipe.set(f"{self.prefix}:apikeyid:{key.key_id}", key_hash)
        pipe.sadd(f"{self.prefix}:apikeys", key.key_id)
        pipe.execute()

    @staticmethod
    def _key_from(h: dict[str, str]) -> ApiKey:
        return ApiKey(
            key_id=h["key_id"],
            tenant=h["tenant"],
            scopes=frozenset(s for s in h["scopes"].split(",") if s),
            created_at=float(h["created_at"]),
            revoked=h["revoked"] == "1",
            label=h["label"] or None,
        )

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        h = self.r.hgetall(f"{self.prefix}:apikey:{key_hash}")
        return self._key_from(h) if h else None

    def list_api_keys(self, tenant: str | None = None) -> list[ApiKey]:
        keys = []
        for key_id in self.r.smembers(f"{self.prefix}:apikeys"):
            key_hash = self.r.get(f"{self.prefix}:apikeyid:{key_id}")
            key = self.get_api_key(key_hash) if key_hash else None
            if key and (tenant is None or key.tenant == tenant):
                keys.append(key)
        return sorted(keys, key=lambda k: k.created_at)

    def revoke_api_key(self, key_id: str) -> bool:
        key_hash = self.r.get(f"{self.prefix}:apikeyid:{key_id}")
        if not key_hash:
            return False
        self.r.hset(f"{self.prefix}:apikey:{key_hash}", "revoked", "1")
        return True

    def hit_rate_limit(self, key_id: str, limit: int, window_s: int, now: float) -> float:
        window = int(now // window_s)
        key = f"{self.prefix}:rl:{key_id}:{window}"
        pipe = self.r.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, window_s * 2)
        hits = pipe.execute()[0]
        if hits <= limit:
            return 0.0
        return max((window + 1) * window_s - now, 0.001)

    # -- catalog -------------------------------------------------------------------------------
    @staticmethod
    def _item_doc(item: Item, deleted: bool, now: float) -> str:
        return _dumps({**item.content(), "deleted": deleted, "updated_at": now})

    @staticmethod
    def _item_from(item_id: str, doc: str) -> tuple[Item, bool]:
        d = orjson.loads(doc)
        deleted = d.pop("deleted")
        return Item(item_id=item_id, **d), deleted

    def upsert_items(self, tenant: str, items: Sequence[Item]) -> list[bool]:
        if not items:
            return []
        t = self._t(tenant)
        now = time.time()
        ids = [i.item_id for i in items]
        # WATCH/MULTI: the created flags are computed against exactly what the write replaces.
        with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(t + "items", t + "counter:catalog")
                    # After WATCH a pipeline runs commands at once (the stubs say Pipeline).
                    old: list[str | None] = pipe.hmget(t + "items", ids)  # type: ignore[assignment]
                    created = []
                    seen: set[str] = set()
                    for item_id, doc in zip(ids, old, strict=True):
                        existed = doc is not None and not orjson.loads(doc)["deleted"]
                        created.append(not existed and item_id not in seen)
                        seen.add(item_id)
                    version = int(pipe.get(t + "counter:catalog") or 0) + 1  # type: ignore[arg-type]
                    pipe.multi()
                    pipe.hset(
                        t + "items",
                        mapping={i.item_id: self._item_doc(i, False, now) for i in items},
                    )
                    pipe.zadd(t + "itemver", dict.fromkeys(ids, version))
                    pipe.set(t + "counter:catalog", version)
                    pipe.execute()
                    return created
                except redis.WatchError:
                    continue

    def get_item(self, tenant: str, item_id: str) -> Item | None:
        doc = self.r.hget(self._t(tenant) + "items", item_id)
        if doc is None:
            return None
        item, deleted = self._item_from(item_id, doc)
        return None if deleted else item

    def delete_item(self, tenant: str, item_id: str) -> bool:
        t = self._t(tenant)
        with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(t + "items", t + "counter:catalog")
                    doc = pipe.hget(t + "items", item_id)
                    if doc is None:
                        return False
                    item, deleted = self._item_from(item_id, doc)  # type: ignore[arg-type]
                    if deleted:
                        return False
                    version = int(pipe.get(t + "counter:catalog") or 0) + 1  # type: ignore[arg-type]
                    pipe.multi()
                    pipe.hset(t + "items", item_id, self._item_doc(item, True, time.time()))
                    pipe.zadd(t + "itemver", {item_id: version})
                    pipe.set(t + "counter:catalog", version)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def iter_items(self, tenant: str, include_deleted: bool = False) -> Iterator[Item]:
        found = []
        for item_id, doc in self.r.hscan_iter(self._t(tenant) + "items", count=1000):
            item, deleted = self._item_from(item_id, doc)
            if deleted:
                if not include_deleted:
                    continue
                item.available = False
            found.append(item)
        yield from sorted(found, key=lambda i: i.item_id)

    def catalog_version(self, tenant: str) -> int:
        return int(self.r.get(self._t(tenant) + "counter:catalog") or 0)

    def items_changed_since(self, tenant: str, version: int) -> tuple[int, list[Item]]:
        t = self._t(tenant)
        pipe = self.r.pipeline(transaction=True)  # MULTI: the version and the ids agree
        pipe.get(t + "counter:catalog")
        pipe.zrangebyscore(t + "itemver", f"({version}", "+inf")
        current, ids = pipe.execute()
        if not ids:
            return int(current or 0), []
        changed = []
        for item_id, doc in zip(ids, self.r.hmget(t + "items", ids), strict=True):
            if doc is None:
                continue
            item, deleted = self._item_from(item_id, doc)
            if deleted:
                item.available = False
            changed.append(item)
        return int(current or 0), changed

    def serving_versions(self, tenant: str, customer_id: str) -> ServingVersions:
        t = self._t(tenant)
        catalog, customer, erasures = self.r.mget(
            t + "counter:catalog", t + "cver:" + customer_id, t + "counter:erasures"
        )
        # see SQLiteStore: no version reads as minus the tenant's erasure count
        return ServingVersions(
            int(catalog or 0), int(customer) if customer else -int(erasures or 0)
        )

    # -- customers -----------------------------------------------------------------------------
    def put_customer(self, tenant: str, customer: Customer) -> bool:
        t = self._t(tenant)
        now = time.time()
        old = self.get_customer(tenant, customer.customer_id)
        doc = _dumps(
            {
                "attributes": customer.attributes,
                "consent_personalization": customer.consent_personalization,
                "account_manager": customer.account_manager,
                "created_at": old.created_at if old else now,
                "updated_at": now,
            }
        )
        created = self._put_customer(
            args=[t, customer.customer_id, doc, customer.account_manager or "", now]
        )
        return bool(created)

    @staticmethod
    def _customer_from(customer_id: str, doc: str) -> Customer:
        return Customer(customer_id=customer_id, **orjson.loads(doc))

    def get_customer(self, tenant: str, customer_id: str) -> Customer | None:
        doc = self.r.hget(self._t(tenant) + "customers", customer_id)
        return self._customer_from(customer_id, doc) if doc else None

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
        return [self._customer_from(c, d) for c, d in zip(ids, docs, strict=True) if d]

    def iter_customers(self, tenant: str) -> Iterator[Customer]:
        found = [
            self._customer_from(cid, doc)
            for cid, doc in self.r.hscan_iter(self._t(tenant) + "customers", count=1000)
        ]
        yield from sorted(found, key=lambda c: c.customer_id)

    def erase_customer(self, tenant: str, customer_id: str) -> bool:
        return int(self._erase(args=[self._t(tenant), customer_id])) > 0

    # -- events --------------------------------------------------------------------------------
    @staticmethod
    def _event_doc(e: Event) -> str:
        return _dumps(
            {
                "i": e.event_id,
                "c": e.customer_id,
                "it": e.item_id,
                "t": e.type,
                "ts": e.timestamp,
                "q": e.quantity,
                "v": e.value,
                "x": e.context,
            }
        )

    @staticmethod
    def _event_from(doc: str) -> Event:
        d = orjson.loads(doc)
        return Event(
            event_id=d["i"],
            customer_id=d["c"],
            type=d["t"],
            timestamp=d["ts"],
            item_id=d["it"],
            quantity=d["q"],
            value=d["v"],
            context=d["x"],
        )

    def add_events(
        self, tenant: str, events: Sequence[Event], weights: Sequence[float] | None = None
    ) -> list[bool]:
        if not events:
            return []
        flags = self._add_events(args=self._event_args(tenant, events, weights))
        return [bool(f) for f in flags]

    def _event_args(
        self, tenant: str, events: Sequence[Event], weights: Sequence[float] | None
    ) -> list[Any]:
        """ARGV of the add-events script (see ``_ADD_EVENTS``)."""
        args: list[Any] = [self._t(tenant)]
        for i, e in enumerate(events):
            w = repr(float(weights[i])) if (weights is not None and e.item_id) else ""
            args.extend(
                (
                    e.event_id,
                    e.customer_id,
                    self._event_doc(e),
                    e.item_id or "",
                    w,
                    "1" if e.type == "purchase" else "0",
                    repr(float(e.timestamp)),
                )
            )
        return args

    def customer_events(self, tenant: str, customer_id: str) -> list[Event]:
        docs = self.r.lrange(self._t(tenant) + "ev:" + customer_id, 0, -1)
        events = [self._event_from(d) for d in docs]
        events.sort(key=lambda e: (e.timestamp, e.event_id))
        return events

    def customers_events_frame(
        self, tenant: str, customer_ids: Sequence[str], types: Sequence[str] | None = None
    ) -> EventFrame:
        t = self._t(tenant)
        wanted = set(types) if types is not None else None
        ids = list(dict.fromkeys(customer_ids))
        pipe = self.r.pipeline(transaction=False)
        for c in ids:
            pipe.lrange(t + "ev:" + c, 0, -1)
        events = [
            e
            for docs in pipe.execute()
            for e in map(self._event_from, docs)
            if wanted is None or e.type in wanted
        ]
        events.sort(key=lambda e: (e.timestamp, e.event_id))
        return EventFrame.from_events(events)

    def events_frame(
        self,
        tenant: str,
        types: Sequence[str] | None = None,
        before: float | None = None,
    ) -> EventFrame:
        wanted = set(types) if types is not None else None
        cust: list[str] = []
        item: list[str] = []
        typ: list[str] = []
        ts: list[float] = []
        qty: list[float] = []
        val: list[float] = []
        for doc in self._event_docs(tenant):
            d = orjson.loads(doc)
            if wanted is not None and d["t"] not in wanted:
                continue
            if before is not None and d["ts"] >= before:
                continue
            cust.append(d["c"])
            item.append(d["it"] or "")
            typ.append(d["t"])
            ts.append(d["ts"])
            qty.append(np.nan if d["q"] is None else d["q"])
            val.append(np.nan if d["v"] is None else d["v"])
        if not ts:
            return EventFrame.empty()
        order = np.argsort(np.asarray(ts), kind="stable")
        return EventFrame(
            customer_id=np.array(cust, dtype=object)[order],
            item_id=np.array(item, dtype=object)[order],
            type=np.array(typ, dtype=object)[order],
            timestamp=np.asarray(ts, dtype=np.float64)[order],
            quantity=np.asarray(qty, dtype=np.float64)[order],
            value=np.asarray(val, dtype=np.float64)[order],
        )

    def iter_events(self, tenant: str, types: Sequence[str] | None = None) -> Iterator[Event]:
        wanted = set(types) if types is not None else None
        for doc in self._event_docs(tenant):
            event = self._event_from(doc)
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
        w, p, ts = pipe.execute()
        ids = sorted(w)
        return CustomerItems(
            item_ids=ids,
            weights=[float(w[i]) for i in ids],
            purchased=[i in p for i in ids],
            last_ts=[float(ts.get(i, 0.0)) for i in ids],
        )

    # -- tenant policy -------------------------------------------------------------------------
    def get_tenant_config(self, tenant: str) -> dict[str, Any]:
        doc = self.r.get(self._t(tenant) + "config")
        return orjson.loads(doc) if doc else {}

    def put_tenant_config(self, tenant: str, config: dict[str, Any]) -> None:
        self.r.set(self._t(tenant) + "config", _dumps(config))

    # -- models --------------------------------------------------------------------------------
    def publish_model(self, tenant: str, version: str, metrics: dict[str, Any]) -> None:
        t = self._t(tenant)
        old = self.r.hget(t + "models", version)
        created = orjson.loads(old)["created_at"] if old else time.time()
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(t + "models", version, _dumps({"metrics": metrics, "created_at": created}))
        pipe.setnx(t + "active", version)
        pipe.execute()

    def list_models(self, tenant: str) -> list[ModelVersion]:
        t = self._t(tenant)
        active = self.active_model(tenant)
        out = []
        for version, doc in self.r.hgetall(t + "models").items():
            d = orjson.loads(doc)
            out.append(ModelVersion(version, d["metrics"], d["created_at"], version == active))
        return sorted(out, key=lambda m: m.created_at)

    def activate_model(self, tenant: str, version: str) -> bool:
        t = self._t(tenant)
        if not self.r.hexists(t + "models", version):
            return False
        self.r.set(t + "active", version)
        return True

    def active_model(self, tenant: str) -> str | None:
        return self.r.get(self._t(tenant) + "active")

    # -- insights ------------------------------------------------------------------------------
    def put_insights(
        self, tenant: str, summary: dict[str, Any], rows: dict[str, dict[str, Any]]
    ) -> None:
        t = self._t(tenant)
        # Written under a temporary key, then renamed: readers never see a half-written table.
        tmp = t + "irows:tmp:" + uuid.uuid4().hex
        items = [(cid, _dumps(row)) for cid, row in rows.items()]
        for start in range(0, len(items), 5000):
            self.r.hset(tmp, mapping=dict(items[start : start + 5000]))
        pipe = self.r.pipeline(transaction=True)
        if items:
            pipe.rename(tmp, t + "irows")
        else:
            pipe.delete(t + "irows")
        pipe.set(t + "insights", _dumps(summary))
        pipe.execute()

    def get_insights_summary(self, tenant: str) -> dict[str, Any] | None:
        doc = self.r.get(self._t(tenant) + "insights")
        return orjson.loads(doc) if doc else None

    def get_insights_row(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        doc = self.r.hget(self._t(tenant) + "irows", customer_id)
        return orjson.loads(doc) if doc else None

    def put_insights_rows(self, tenant: str, rows: dict[str, dict[str, Any]]) -> None:
        if rows:
            self.r.hset(self._t(tenant) + "irows", mapping={c: _dumps(r) for c, r in rows.items()})

    # -- configurator --------------------------------------------------------------------------
    def put_family(self, tenant: str, family_id: str, family: dict[str, Any]) -> int:
        t = self._t(tenant)
        version = int(self.r.rpush(t + "fam:" + family_id, _dumps(family)))
        self.r.hset(t + "families", family_id, version)
        return version

    def get_family(
        self, tenant: str, family_id: str, version: int | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        key = self._t(tenant) + "fam:" + family_id
        if version is None:
            n = int(self.r.llen(key))
            if n == 0:
                return None
            version = n
        if version < 1:
            return None
        doc = self.r.lindex(key, version - 1)
        return (version, orjson.loads(doc)) if doc else None

    def list_families(self, tenant: str) -> dict[str, int]:
        found = self.r.hgetall(self._t(tenant) + "families")
        return {f: int(v) for f, v in found.items()}

    def save_configuration(
        self,
        tenant: str,
        customer_id: str,
        configuration: dict[str, Any],
        *,
        configuration_id: str | None = None,
        event: Event | None = None,
    ) -> str:
        config_id = configuration_id or uuid.uuid4().hex[:16]
        doc = {**configuration, "configuration_id": config_id, "created_at": time.time()}
        pipe = self.r.pipeline(transaction=True)  # MULTI/EXEC: the spec and its event together
        pipe.rpush(self._t(tenant) + "cfg:" + customer_id, _dumps(doc))
        if event is not None:
            self._add_events(args=self._event_args(tenant, [event], None), client=pipe)
        pipe.execute()
        return config_id

    def list_configurations(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        docs = self.r.lrange(self._t(tenant) + "cfg:" + customer_id, 0, -1)
        return [orjson.loads(d) for d in docs]
