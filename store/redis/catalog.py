"""The catalog in Redis: ``items`` (id -> the codec's document, tombstones included), ``itemver``
(id -> the catalog version that last changed it) and ``counter:catalog``.

Writes use WATCH/MULTI: the created flags and the new version are computed against exactly
what the write replaces.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import redis

from core.records import Item
from store.codec import decode_item, is_live, item_doc, live_item, tombstone
from store.protocols import CatalogStore
from store.redis.connection import RedisConnection


class RedisCatalog(RedisConnection, CatalogStore):
    def upsert_items(self, tenant: str, items: Sequence[Item]) -> list[bool]:
        if not items:
            return []
        t = self._t(tenant)
        now = time.time()
        ids = [i.item_id for i in items]
        docs: dict[str | bytes, str] = {i.item_id: item_doc(i, now) for i in items}
        with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(t + "items", t + "counter:catalog")
                    # After WATCH a pipeline runs commands at once (the stubs say Pipeline).
                    old: list[str | None] = pipe.hmget(t + "items", ids)  # type: ignore[assignment]
                    created = []
                    seen: set[str] = set()
                    for item_id, doc in zip(ids, old, strict=True):
                        created.append(not is_live(doc) and item_id not in seen)
                        seen.add(item_id)
                    version = int(pipe.get(t + "counter:catalog") or 0) + 1  # type: ignore[arg-type]
                    pipe.multi()
                    pipe.hset(t + "items", mapping=docs)
                    pipe.zadd(t + "itemver", dict.fromkeys(ids, version))
                    pipe.set(t + "counter:catalog", version)
                    pipe.execute()
                    return created
                except redis.WatchError:
                    continue

    def get_item(self, tenant: str, item_id: str) -> Item | None:
        return live_item(item_id, self.r.hget(self._t(tenant) + "items", item_id))

    def delete_item(self, tenant: str, item_id: str) -> bool:
        t = self._t(tenant)
        with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(t + "items", t + "counter:catalog")
                    doc: str | None = pipe.hget(t + "items", item_id)  # type: ignore[assignment]
                    if doc is None or not is_live(doc):
                        return False
                    version = int(pipe.get(t + "counter:catalog") or 0) + 1  # type: ignore[arg-type]
                    pipe.multi()
                    pipe.hset(t + "items", item_id, tombstone(doc, time.time()))
                    pipe.zadd(t + "itemver", {item_id: version})
                    pipe.set(t + "counter:catalog", version)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def iter_items(self, tenant: str, include_deleted: bool = False) -> Iterator[Item]:
        found = []
        for item_id, doc in self.r.hscan_iter(self._t(tenant) + "items", count=1000):
            item, deleted = decode_item(item_id, doc)
            if include_deleted or not deleted:
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
        docs = self.r.hmget(t + "items", ids)
        changed = [decode_item(i, doc)[0] for i, doc in zip(ids, docs, strict=True) if doc]
        return int(current or 0), changed
