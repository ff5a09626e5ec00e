"""Tenants in the embedded store."""

from __future__ import annotations

import time

from store.protocols import TenantStore
from store.sqlite.connection import SQLiteConnection


class SQLiteTenants(SQLiteConnection, TenantStore):
    def ensure_tenant(self, tenant: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO tenants (tenant, created_at) VALUES (?, ?)",
                (tenant, time.time()),
            )
            return cur.rowcount == 1

    def list_tenants(self) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT tenant FROM tenants ORDER BY tenant")]
