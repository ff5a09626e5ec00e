"""The catalog in the embedded store: item documents (tombstones included) and their versions.

Each write bumps the tenant's ``catalog`` counter and stamps the items it changed with the new
value, which is what ``items_changed_since`` reads.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from core.records import Item
from store.codec import decode_item, is_live, item_doc, live_item, tombstone
from store.protocols import CatalogStore
from store.sqlite.connection import SQLiteConnection, bump


class SQLiteCatalog(SQLiteConnection, CatalogStore):
    def upsert_items(self, tenant: str, items: Sequence[Item]) -> list[bool]:
        if not items:
            return []
        now = time.time()
        docs = [item_doc(item, now) for item in items]
        created: list[bool] = []
        with self._write() as db:
            version = bump(db, tenant, "catalog")
            for item, doc in zip(items, docs, strict=True):
                row = db.execute(
                    "SELECT doc FROM items WHERE tenant = ? AND item_id = ?",
                    (tenant, item.item_id),
                ).fetchone()
                created.append(not is_live(row[0] if row else None))
                db.execute(
                    "INSERT INTO items (tenant, item_id, doc, version) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (tenant, item_id) DO UPDATE SET"
                    " doc = excluded.doc, version = excluded.version",
                    (tenant, item.item_id, doc, version),
                )
        return created

    def _doc(self, tenant: str, item_id: str) -> str | None:
        row = (
            self._db()
            .execute("SELECT doc FROM items WHERE tenant = ? AND item_id = ?", (tenant, item_id))
            .fetchone()
        )
        return row[0] if row else None

    def get_item(self, tenant: str, item_id: str) -> Item | None:
        return live_item(item_id, self._doc(tenant, item_id))

    def delete_item(self, tenant: str, item_id: str) -> bool:
        with self._write() as db:
            row = db.execute(
                "SELECT doc FROM items WHERE tenant = ? AND item_id = ?", (tenant, item_id)
            ).fetchone()
            if not is_live(row[0] if row else None):
                return False
            db.execute(
                "UPDATE items SET doc = ?, version = ? WHERE tenant = ? AND item_id = ?",
                (tombstone(row[0], time.time()), bump(db, tenant, "catalog"), tenant, item_id),
            )
            return True

    def iter_items(self, tenant: str, include_deleted: bool = False) -> Iterator[Item]:
        rows = self._db().execute(
            "SELECT item_id, doc FROM items WHERE tenant = ? ORDER BY item_id", (tenant,)
        )
        for item_id, doc in rows.fetchall():
            item, deleted = decode_item(item_id, doc)
            if include_deleted or not deleted:
                yield item

    def catalog_version(self, tenant: str) -> int:
        row = (
            self._db()
            .execute("SELECT value FROM counters WHERE tenant = ? AND name = 'catalog'", (tenant,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def items_changed_since(self, tenant: str, version: int) -> tuple[int, list[Item]]:
        with self._snapshot() as db:  # the version and the rows agree
            current = self.catalog_version(tenant)
            rows = db.execute(
                "SELECT item_id, doc FROM items WHERE tenant = ? AND version > ?",
                (tenant, version),
            ).fetchall()
        return current, [decode_item(item_id, doc)[0] for item_id, doc in rows]
