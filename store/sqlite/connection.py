"""Connections and transactions of the embedded store, and which SQLite errors are outages.

Each thread gets its own connection; several worker processes share the file (WAL lets readers
run beside the single writer). Writes use ``BEGIN IMMEDIATE`` so a batch is all or nothing and a
202 is only answered after the commit reached the disk. Rate-limit counters live in a second file
with ``synchronous=OFF``: they are shared across workers but need no durability.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from store.sqlite.migrations import migrate

RATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_windows (
    key_id TEXT NOT NULL, window INTEGER NOT NULL, hits INTEGER NOT NULL,
    PRIMARY KEY (key_id, window)) WITHOUT ROWID;
"""

# Primary result codes meaning "the storage cannot answer now", not "the query is wrong".
_OUTAGE_CODES = {
    sqlite3.SQLITE_BUSY: "the database is locked by another writer",
    sqlite3.SQLITE_LOCKED: "the database is locked",
    sqlite3.SQLITE_IOERR: "a disk I/O error",
    sqlite3.SQLITE_FULL: "the disk is full",
    sqlite3.SQLITE_CANTOPEN: "the database file cannot be opened",
    sqlite3.SQLITE_PROTOCOL: "the database lock protocol failed",
}


def sqlite_outage(exc: BaseException) -> str | None:
    """Why SQLite cannot answer (for :func:`store.outage.shield`), or None for other errors."""
    if not isinstance(exc, sqlite3.OperationalError):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        reason = _OUTAGE_CODES.get(code & 0xFF)
        return f"{reason} ({exc})" if reason else None
    return str(exc) if "locked" in str(exc) else None


def bump(db: sqlite3.Connection, tenant: str, name: str) -> int:
    """Increment the tenant's counter ``name`` (inside the caller's transaction); its new value."""
    row = db.execute(
        "INSERT INTO counters (tenant, name, value) VALUES (?, ?, 1)"
        " ON CONFLICT (tenant, name) DO UPDATE SET value = value + 1 RETURNING value",
        (tenant, name),
    ).fetchone()
    return int(row[0])


class SQLiteConnection:
    """The file, its per-thread connections, and the write transaction every mixin uses."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._write_lock = threading.Lock()
        migrate(self._db())
        self._rate().executescript(RATE_SCHEMA)

    def _open(self, path: Path, synchronous: str, *, customer_data: bool) -> sqlite3.Connection:
        db = sqlite3.connect(
            path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
        db.execute("PRAGMA foreign_keys=OFF")
        if customer_data:
            # Freed pages are zeroed, so erased data leaves the file instead of lingering in
            # free space (see store.sqlite.erasure for the write-ahead log).
            db.execute("PRAGMA secure_delete=ON")
        return db

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # FULL: a commit is on disk before add_events returns, so a 202 survives kill -9
            # and power loss alike.
            db = self._local.db = self._open(self.path, "FULL", customer_data=True)
        return db

    def _rate(self) -> sqlite3.Connection:
        db = getattr(self._local, "rate", None)
        if db is None:
            rate_path = self.path.with_name(self.path.stem + "-ratelimit.sqlite3")
            db = self._local.rate = self._open(rate_path, "OFF", customer_data=False)
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # Threads of this process queue on a lock; SQLite's busy handler, which waits by
        # sleeping, is then only needed between processes (several workers).
        db = self._db()
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same state of the file."""
        db = self._db()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    def ping(self) -> bool:
        try:
            return self._db().execute("SELECT 1").fetchone() == (1,)
        except sqlite3.Error:
            return False

    def close(self) -> None:
        """Drop every thread's connections. Each one closes when the last reference to it
        goes, so a thread still inside a query finishes it first: closing a connection under
        a running query (a background warm-up, say) would crash the process."""
        self._local = threading.local()
