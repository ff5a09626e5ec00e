"""The model registry in the embedded store."""

from __future__ import annotations

import time
from typing import Any

from store.codec import decode_model, loads, model_doc
from store.protocols import ModelStore, ModelVersion
from store.sqlite.connection import SQLiteConnection


class SQLiteModels(SQLiteConnection, ModelStore):
    def publish_model(self, tenant: str, version: str, metrics: dict[str, Any]) -> None:
        with self._write() as db:
            row = db.execute(
                "SELECT doc FROM models WHERE tenant = ? AND version = ?", (tenant, version)
            ).fetchone()
            # Publishing again updates the metrics; the version keeps its first time.
            created_at = loads(row[0])["created_at"] if row else time.time()
            db.execute(
                "INSERT INTO models (tenant, version, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (tenant, version) DO UPDATE SET doc = excluded.doc",
                (tenant, version, model_doc(metrics, created_at)),
            )
            db.execute(
                "INSERT OR IGNORE INTO active_models (tenant, version) VALUES (?, ?)",
                (tenant, version),
            )

    def list_models(self, tenant: str) -> list[ModelVersion]:
        with self._snapshot() as db:
            active = self.active_model(tenant)
            rows = db.execute(
                "SELECT version, doc FROM models WHERE tenant = ?", (tenant,)
            ).fetchall()
        models = [decode_model(version, doc, active) for version, doc in rows]
        return sorted(models, key=lambda m: m.created_at)

    def activate_model(self, tenant: str, version: str) -> bool:
        with self._write() as db:
            if not db.execute(
                "SELECT 1 FROM models WHERE tenant = ? AND version = ?", (tenant, version)
            ).fetchone():
                return False
            db.execute(
                "INSERT INTO active_models (tenant, version) VALUES (?, ?)"
                " ON CONFLICT (tenant) DO UPDATE SET version = excluded.version",
                (tenant, version),
            )
            return True

    def active_model(self, tenant: str) -> str | None:
        row = (
            self._db()
            .execute("SELECT version FROM active_models WHERE tenant = ?", (tenant,))
            .fetchone()
        )
        return row[0] if row else None
