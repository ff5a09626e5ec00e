"""Product families and saved configurations in the embedded store."""

from __future__ import annotations

import time
import uuid
from typing import Any

from core.records import Event
from store.codec import configuration_doc, dumps, loads
from store.protocols import ConfiguratorStore
from store.sqlite.connection import SQLiteConnection
from store.sqlite.events import insert_events


class SQLiteConfigurator(SQLiteConnection, ConfiguratorStore):
    def put_family(self, tenant: str, family_id: str, family: dict[str, Any]) -> int:
        doc = dumps(family)
        with self._write() as db:
            row = db.execute(
                "SELECT coalesce(max(version), 0) FROM families WHERE tenant = ? AND family_id = ?",
                (tenant, family_id),
            ).fetchone()
            version = int(row[0]) + 1
            db.execute(
                "INSERT INTO families (tenant, family_id, version, doc, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (tenant, family_id, version, doc, time.time()),
            )
            return version

    def get_family(
        self, tenant: str, family_id: str, version: int | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        sql = "SELECT version, doc FROM families WHERE tenant = ? AND family_id = ?"
        if version is None:
            row = self._db().execute(sql + " ORDER BY version DESC LIMIT 1", (tenant, family_id))
        else:
            row = self._db().execute(sql + " AND version = ?", (tenant, family_id, version))
        found = row.fetchone()
        return (int(found[0]), loads(found[1])) if found else None

    def list_families(self, tenant: str) -> dict[str, int]:
        rows = self._db().execute(
            "SELECT family_id, max(version) FROM families WHERE tenant = ? GROUP BY family_id",
            (tenant,),
        )
        return {f: int(v) for f, v in rows}

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
        doc = configuration_doc(configuration, config_id, time.time())
        with self._write() as db:  # one transaction: the spec and its configure event
            db.execute(
                "INSERT INTO configurations (tenant, customer_id, configuration_id, doc)"
                " VALUES (?, ?, ?, ?)",
                (tenant, customer_id, config_id, doc),
            )
            if event is not None:
                insert_events(db, tenant, [event], None)
        return config_id

    def list_configurations(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT doc FROM configurations WHERE tenant = ? AND customer_id = ? ORDER BY rowid",
            (tenant, customer_id),
        )
        return [loads(doc) for (doc,) in rows]
