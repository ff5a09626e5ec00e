"""Service secrets in the embedded store: one row per name in ``service_secrets``.

``INSERT OR IGNORE`` then a read, in one write transaction: of several workers creating the
secret at once, the first insert wins and every one of them reads that row.
"""

from __future__ import annotations

import time

from store.protocols import SecretStore
from store.sqlite.connection import SQLiteConnection


class SQLiteSecrets(SQLiteConnection, SecretStore):
    def ensure_secret(self, name: str, candidate: str) -> str:
        row = self._db().execute("SELECT value FROM service_secrets WHERE name = ?", (name,))
        found = row.fetchone()
        if found is not None:  # the usual case: read without taking the write lock
            return str(found[0])
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO service_secrets (name, value, created_at) VALUES (?, ?, ?)",
                (name, candidate, time.time()),
            )
            stored = db.execute("SELECT value FROM service_secrets WHERE name = ?", (name,))
            return str(stored.fetchone()[0])
