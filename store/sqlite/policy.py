"""The tenant policy document in the embedded store."""

from __future__ import annotations

from typing import Any

from store.codec import dumps, loads
from store.protocols import PolicyStore
from store.sqlite.connection import SQLiteConnection, bump


class SQLitePolicy(SQLiteConnection, PolicyStore):
    def get_tenant_config(self, tenant: str) -> dict[str, Any]:
        row = (
            self._db()
            .execute("SELECT doc FROM tenant_config WHERE tenant = ?", (tenant,))
            .fetchone()
        )
        return loads(row[0]) if row else {}

    def put_tenant_config(self, tenant: str, config: dict[str, Any]) -> None:
        doc = dumps(config)
        with self._write() as db:
            db.execute(
                "INSERT INTO tenant_config (tenant, doc) VALUES (?, ?)"
                " ON CONFLICT (tenant) DO UPDATE SET doc = excluded.doc",
                (tenant, doc),
            )
            bump(db, tenant, "catalog")  # serving caches re-read the policy (see the protocol)
