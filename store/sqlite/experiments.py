"""A/B experiments in the embedded store: one ``experiments`` row per experiment, the running
one flagged (at most one per tenant, checked in the write transaction)."""

from __future__ import annotations

from typing import Any

from store.codec import dumps, loads
from store.protocols import ExperimentStore
from store.sqlite.connection import SQLiteConnection, bump


class SQLiteExperiments(SQLiteConnection, ExperimentStore):
    def put_experiment(self, tenant: str, experiment_id: str, doc: dict[str, Any]) -> bool:
        with self._write() as db:
            other = db.execute(
                "SELECT 1 FROM experiments WHERE tenant = ? AND running = 1 AND experiment_id != ?",
                (tenant, experiment_id),
            ).fetchone()
            if other:
                return False
            db.execute(
                "INSERT INTO experiments (tenant, experiment_id, doc, running) VALUES (?, ?, ?, 1)"
                " ON CONFLICT (tenant, experiment_id) DO UPDATE SET doc = excluded.doc,"
                " running = 1",
                (tenant, experiment_id, dumps(doc)),
            )
            bump(db, tenant, "catalog")  # serving caches follow (see the protocol)
            return True

    def get_experiment(self, tenant: str, experiment_id: str) -> dict[str, Any] | None:
        row = (
            self._db()
            .execute(
                "SELECT doc FROM experiments WHERE tenant = ? AND experiment_id = ?",
                (tenant, experiment_id),
            )
            .fetchone()
        )
        return loads(row[0]) if row else None

    def running_experiment(self, tenant: str) -> tuple[str, dict[str, Any]] | None:
        row = (
            self._db()
            .execute(
                "SELECT experiment_id, doc FROM experiments WHERE tenant = ? AND running = 1",
                (tenant,),
            )
            .fetchone()
        )
        return (row[0], loads(row[1])) if row else None

    def list_experiments(self, tenant: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._db().execute(
            "SELECT experiment_id, doc FROM experiments WHERE tenant = ? ORDER BY experiment_id",
            (tenant,),
        )
        return [(r[0], loads(r[1])) for r in rows.fetchall()]

    def end_experiment(self, tenant: str, experiment_id: str, doc: dict[str, Any]) -> bool:
        with self._write() as db:
            cur = db.execute(
                "UPDATE experiments SET doc = ?, running = 0"
                " WHERE tenant = ? AND experiment_id = ? AND running = 1",
                (dumps(doc), tenant, experiment_id),
            )
            if cur.rowcount != 1:
                return False
            bump(db, tenant, "catalog")
            return True
