"""Embedded store: one SQLite file (WAL, full sync), no server needed.

Each thread gets its own connection; several worker processes share the file (WAL lets readers
run beside the single writer). Writes use ``BEGIN IMMEDIATE`` so a batch is all or nothing and a
202 is only answered after the commit reached the disk. Rate-limit counters live in a second file
with ``synchronous=OFF``: they are shared across workers but need no durability.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from core.records import ApiKey, Customer, Event, EventFrame, Item
from store.base import CustomerItems, ModelVersion, ServingVersions, Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (tenant TEXT PRIMARY KEY, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
    scopes TEXT NOT NULL, label TEXT, created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS items (
    tenant TEXT NOT NULL, item_id TEXT NOT NULL, doc TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant, item_id));
CREATE INDEX IF NOT EXISTS items_by_version ON items (tenant, version);
CREATE TABLE IF NOT EXISTS tenant_config (tenant TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (
    tenant TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL, PRIMARY KEY (tenant, name));
CREATE TABLE IF NOT EXISTS customers (
    tenant TEXT NOT NULL, customer_id TEXT NOT NULL, doc TEXT NOT NULL, account_manager TEXT,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (tenant, customer_id));
CREATE INDEX IF NOT EXISTS customers_by_manager ON customers (tenant, account_manager);
CREATE TABLE IF NOT EXISTS events (
    tenant TEXT NOT NULL, event_id TEXT NOT NULL, customer_id TEXT NOT NULL, item_id TEXT,
    type TEXT NOT NULL, ts REAL NOT NULL, quantity REAL, value REAL, context TEXT,
    PRIMARY KEY (tenant, event_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_customer ON events (tenant, customer_id, ts);
CREATE TABLE IF NOT EXISTS customer_items (
    tenant TEXT NOT NULL, customer_id TEXT NOT NULL, item_id TEXT NOT NULL,
    weight REAL NOT NULL, purchased INTEGER NOT NULL, last_ts REAL NOT NULL,
    PRIMARY KEY (tenant, customer_id, item_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS customer_versions (
    tenant TEXT NOT NULL, customer_id TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (tenant, customer_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS models (
    tenant TEXT NOT NULL, version TEXT NOT NULL, metrics TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (tenant, version));
CREATE TABLE IF NOT EXISTS active_models (tenant TEXT PRIMARY KEY, version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS insights_summary (tenant TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS insights_rows (
    tenant TEXT NOT NULL, customer_id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (tenant, customer_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS families (
    tenant TEXT NOT NULL, family_id TEXT NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL,
    created_at REAL NOT NULL, PRIMARY KEY (tenant, family_id, version));
CREATE TABLE IF NOT EXISTS configurations (
    tenant TEXT NOT NULL, customer_id TEXT NOT NULL, configuration_id TEXT NOT NULL,
    doc TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (tenant, customer_id, configuration_id));
"""

# The catalog version, and the customer's version; a customer without one reads as minus the
# tenant's erasure count, so that an answer cached before an erasure is never taken for the
# erased customer's (not even for rows written before customers had versions).
_SERVING_VERSIONS = """
SELECT coalesce((SELECT value FROM counters WHERE tenant = ? AND name = 'catalog'), 0),
       coalesce((SELECT version FROM customer_versions WHERE tenant = ? AND customer_id = ?),
                -coalesce((SELECT value FROM counters WHERE tenant = ? AND name = 'erasures'), 0))
"""

RATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS rate_windows (
    key_id TEXT NOT NULL, window INTEGER NOT NULL, hits INTEGER NOT NULL,
    PRIMARY KEY (key_id, window)) WITHOUT ROWID;
"""


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


class SQLiteStore(Store):
    """The embedded default backend.

    Examples
    --------
    >>> store = SQLiteStore(Path(tmp) / "atelier.sqlite3")     # doctest: +SKIP
    >>> store.ensure_tenant("shop")                           # doctest: +SKIP
    True
    """

    backend = "embedded"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        db = self._db()
        columns = {row[1] for row in db.execute("PRAGMA table_info(items)")}
        if columns and "version" not in columns:  # files written before items had versions
            db.execute("ALTER TABLE items ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
        db.executescript(SCHEMA)
        self._rate().executescript(RATE_SCHEMA)

    # -- connections ---------------------------------------------------------------------------
    def _open(self, path: Path, synchronous: str) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("PRAGMA busy_timeout=30000")
        db.execute("PRAGMA foreign_keys=OFF")
        return db

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # FULL: a commit is on disk before add_events returns, so a 202 survives kill -9
            # and power loss alike.
            db = self._local.db = self._open(self.path, "FULL")
        return db

    def _rate(self) -> sqlite3.Connection:
        db = getattr(self._local, "rate", None)
        if db is None:
            db = self._local.rate = self._open(
                self.path.with_name(self.path.stem + "-ratelimit.sqlite3"), "OFF"
            )
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

    # -- tenants and keys ----------------------------------------------------------------------
    def ensure_tenant(self, tenant: str) -> bool:
        with self._write() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO tenants (tenant, created_at) VALUES (?, ?)",
                (tenant, time.time()),
            )
            return cur.rowcount == 1

    def list_tenants(self) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT tenant FROM tenants ORDER BY tenant")]

    def put_api_key(self, key: ApiKey, key_hash: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO api_keys (key_id, key_hash, tenant, scopes, label, created_at, revoked)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key.key_id,
                    key_hash,
                    key.tenant,
                    ",".join(sorted(key.scopes)),
                    key.label,
                    key.created_at,
                    int(key.revoked),
                ),
            )

    @staticmethod
    def _key_from_row(row: tuple[Any, ...]) -> ApiKey:
        key_id, tenant, scopes, label, created_at, revoked = row
        return ApiKey(
            key_id=key_id,
            tenant=tenant,
            scopes=frozenset(s for s in scopes.split(",") if s),
            created_at=created_at,
            revoked=bool(revoked),
            label=label,
        )

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        row = (
            self._db()
            .execute(
                "SELECT key_id, tenant, scopes, label, created_at, revoked FROM api_keys"
                " WHERE key_hash = ?",
                (key_hash,),
            )
            .fetchone()
        )
        return self._key_from_row(row) if row else None

    def list_api_keys(self, tenant: str | None = None) -> list[ApiKey]:
        sql = "SELECT key_id, tenant, scopes, label, created_at, revoked FROM api_keys"
        args: tuple[Any, ...] = ()
        if tenant is not None:
            sql += " WHERE tenant = ?"
            args = (tenant,)
        return [
            self._key_from_row(r) for r in self._db().execute(sql + " ORDER BY created_at", args)
        ]

    def revoke_api_key(self, key_id: str) -> bool:
        with self._write() as db:
            return (
                db.execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,)).rowcount
                == 1
            )

    def hit_rate_limit(self, key_id: str, limit: int, window_s: int, now: float) -> float:
        window = int(now // window_s)
        db = self._rate()
        row = db.execute(
            "INSERT INTO rate_windows (key_id, window, hits) VALUES (?, ?, 1)"
            " ON CONFLICT (key_id, window) DO UPDATE SET hits = hits + 1 RETURNING hits",
            (key_id, window),
        ).fetchone()
        if window % 64 == 0:  # cheap, occasional clean-up of old windows
            db.execute("DELETE FROM rate_windows WHERE window < ?", (window - 1,))
        if row[0] <= limit:
            return 0.0
        return max((window + 1) * window_s - now, 0.001)

    # -- catalog -------------------------------------------------------------------------------
    @staticmethod
    def _item_doc(item: Item) -> str:
        return _dumps(item.content())

    @staticmethod
    def _item_from(item_id: str, doc: str, updated_at: float) -> Item:
        d = json.loads(doc)
        return Item(item_id=item_id, updated_at=updated_at, **d)

    def _bump(self, db: sqlite3.Connection, tenant: str, name: str) -> int:
        row = db.execute(
            "INSERT INTO counters (tenant, name, value) VALUES (?, ?, 1)"
            " ON CONFLICT (tenant, name) DO UPDATE SET value = value + 1 RETURNING value",
            (tenant, name),
        ).fetchone()
        return int(row[0])

    def upsert_items(self, tenant: str, items: Sequence[Item]) -> list[bool]:
        now = time.time()
        created: list[bool] = []
        if not items:
            return created
        with self._write() as db:
            version = self._bump(db, tenant, "catalog")
            for item in items:
                row = db.execute(
                    "SELECT deleted FROM items WHERE tenant = ? AND item_id = ?",
                    (tenant, item.item_id),
                ).fetchone()
                created.append(row is None or bool(row[0]))
                db.execute(
                    "INSERT INTO items (tenant, item_id, doc, deleted, updated_at, version)"
                    " VALUES (?, ?, ?, 0, ?, ?) ON CONFLICT (tenant, item_id) DO UPDATE SET"
                    " doc = excluded.doc, deleted = 0, updated_at = excluded.updated_at,"
                    " version = excluded.version",
                    (tenant, item.item_id, self._item_doc(item), now, version),
                )
        return created

    def get_item(self, tenant: str, item_id: str) -> Item | None:
        row = (
            self._db()
            .execute(
                "SELECT doc, updated_at FROM items WHERE tenant = ? AND item_id = ? AND deleted = 0",
                (tenant, item_id),
            )
            .fetchone()
        )
        return self._item_from(item_id, row[0], row[1]) if row else None

    def delete_item(self, tenant: str, item_id: str) -> bool:
        with self._write() as db:
            if not db.execute(
                "SELECT 1 FROM items WHERE tenant = ? AND item_id = ? AND deleted = 0",
                (tenant, item_id),
            ).fetchone():
                return False
            db.execute(
                "UPDATE items SET deleted = 1, updated_at = ?, version = ?"
                " WHERE tenant = ? AND item_id = ?",
                (time.time(), self._bump(db, tenant, "catalog"), tenant, item_id),
            )
            return True

    def iter_items(self, tenant: str, include_deleted: bool = False) -> Iterator[Item]:
        sql = "SELECT item_id, doc, updated_at, deleted FROM items WHERE tenant = ?"
        if not include_deleted:
            sql += " AND deleted = 0"
        for item_id, doc, updated_at, deleted in self._db().execute(
            sql + " ORDER BY item_id", (tenant,)
        ):
            item = self._item_from(item_id, doc, updated_at)
            if deleted:
                item.available = False
            yield item

    def catalog_version(self, tenant: str) -> int:
        row = (
            self._db()
            .execute("SELECT value FROM counters WHERE tenant = ? AND name = 'catalog'", (tenant,))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def items_changed_since(self, tenant: str, version: int) -> tuple[int, list[Item]]:
        db = self._db()
        db.execute("BEGIN")  # one snapshot: the version and the rows agree
        try:
            current = self.catalog_version(tenant)
            rows = db.execute(
                "SELECT item_id, doc, updated_at, deleted FROM items"
                " WHERE tenant = ? AND version > ?",
                (tenant, version),
            ).fetchall()
        finally:
            db.execute("COMMIT")
        changed = []
        for item_id, doc, updated_at, deleted in rows:
            item = self._item_from(item_id, doc, updated_at)
            if deleted:
                item.available = False
            changed.append(item)
        return current, changed

    def serving_versions(self, tenant: str, customer_id: str) -> ServingVersions:
        row = (
            self._db().execute(_SERVING_VERSIONS, (tenant, tenant, customer_id, tenant)).fetchone()
        )
        return ServingVersions(int(row[0]), int(row[1]))

    def _touch_customers(self, db: sqlite3.Connection, tenant: str, ids: set[str]) -> None:
        """Give these customers a new serving version (inside the caller's transaction)."""
        version = self._bump(db, tenant, "customers")
        db.executemany(
            "INSERT INTO customer_versions (tenant, customer_id, version) VALUES (?, ?, ?)"
            " ON CONFLICT (tenant, customer_id) DO UPDATE SET version = excluded.version",
            [(tenant, cid, version) for cid in ids],
        )

    # -- customers -----------------------------------------------------------------------------
    def put_customer(self, tenant: str, customer: Customer) -> bool:
        now = time.time()
        doc = _dumps(
            {
                "attributes": customer.attributes,
                "consent_personalization": customer.consent_personalization,
            }
        )
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO customers (tenant, customer_id, doc, account_manager, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, customer_id) DO NOTHING",
                (tenant, customer.customer_id, doc, customer.account_manager, now, now),
            )
            self._touch_customers(db, tenant, {customer.customer_id})
            if cur.rowcount == 1:
                return True
            db.execute(
                "UPDATE customers SET doc = ?, account_manager = ?, updated_at = ?"
                " WHERE tenant = ? AND customer_id = ?",
                (doc, customer.account_manager, now, tenant, customer.customer_id),
            )
            return False

    @staticmethod
    def _customer_from(row: tuple[Any, ...]) -> Customer:
        customer_id, doc, manager, created_at, updated_at = row
        d = json.loads(doc)
        return Customer(
            customer_id=customer_id,
            attributes=d["attributes"],
            consent_personalization=d["consent_personalization"],
            account_manager=manager,
            created_at=created_at,
            updated_at=updated_at,
        )

    def get_customer(self, tenant: str, customer_id: str) -> Customer | None:
        row = (
            self._db()
            .execute(
                "SELECT customer_id, doc, account_manager, created_at, updated_at FROM customers"
                " WHERE tenant = ? AND customer_id = ?",
                (tenant, customer_id),
            )
            .fetchone()
        )
        return self._customer_from(row) if row else None

    def customer_known(self, tenant: str, customer_id: str) -> bool:
        db = self._db()
        if db.execute(
            "SELECT 1 FROM customers WHERE tenant = ? AND customer_id = ?", (tenant, customer_id)
        ).fetchone():
            return True
        return (
            db.execute(
                "SELECT 1 FROM events WHERE tenant = ? AND customer_id = ? LIMIT 1",
                (tenant, customer_id),
            ).fetchone()
            is not None
        )

    def customers_of_manager(self, tenant: str, manager_id: str) -> list[Customer]:
        rows = self._db().execute(
            "SELECT customer_id, doc, account_manager, created_at, updated_at FROM customers"
            " WHERE tenant = ? AND account_manager = ? ORDER BY customer_id",
            (tenant, manager_id),
        )
        return [self._customer_from(r) for r in rows]

    def iter_customers(self, tenant: str) -> Iterator[Customer]:
        rows = self._db().execute(
            "SELECT customer_id, doc, account_manager, created_at, updated_at FROM customers"
            " WHERE tenant = ? ORDER BY customer_id",
            (tenant,),
        )
        for row in rows.fetchall():
            yield self._customer_from(row)

    def erase_customer(self, tenant: str, customer_id: str) -> bool:
        held = 0
        with self._write() as db:
            for table in (
                "customers",
                "events",
                "customer_items",
                "insights_rows",
                "configurations",
                "customer_versions",
            ):
                held += db.execute(
                    f"DELETE FROM {table} WHERE tenant = ? AND customer_id = ?",
                    (tenant, customer_id),
                ).rowcount
            if held:
                self._bump(db, tenant, "erasures")
        return held > 0

    # -- events --------------------------------------------------------------------------------
    def add_events(
        self, tenant: str, events: Sequence[Event], weights: Sequence[float] | None = None
    ) -> list[bool]:
        with self._write() as db:
            return self._insert_events(db, tenant, events, weights)

    def _insert_events(
        self,
        db: sqlite3.Connection,
        tenant: str,
        events: Sequence[Event],
        weights: Sequence[float] | None,
    ) -> list[bool]:
        """The inserts of :meth:`add_events`, inside the caller's transaction."""
        new: list[bool] = []
        touched: set[str] = set()
        for i, e in enumerate(events):
            cur = db.execute(
                "INSERT OR IGNORE INTO events (tenant, event_id, customer_id, item_id, type, ts,"
                " quantity, value, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    tenant,
                    e.event_id,
                    e.customer_id,
                    e.item_id,
                    e.type,
                    e.timestamp,
                    e.quantity,
                    e.value,
                    _dumps(e.context) if e.context else None,
                ),
            )
            is_new = cur.rowcount == 1
            new.append(is_new)
            if is_new and e.item_id and weights is not None:
                bought = int(e.type == "purchase")
                db.execute(
                    "INSERT INTO customer_items (tenant, customer_id, item_id, weight, purchased,"
                    " last_ts) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                    " weight = weight + excluded.weight,"
                    " purchased = max(purchased, excluded.purchased),"
                    " last_ts = max(last_ts, excluded.last_ts)",
                    (tenant, e.customer_id, e.item_id, float(weights[i]), bought, e.timestamp),
                )
                if weights[i] or bought:  # an impression (weight 0) leaves the answer as it was
                    touched.add(e.customer_id)
        if touched:
            self._touch_customers(db, tenant, touched)
        return new

    @staticmethod
    def _event_from(row: tuple[Any, ...]) -> Event:
        event_id, customer_id, item_id, typ, ts, qty, val, ctx = row
        return Event(
            event_id=event_id,
            customer_id=customer_id,
            type=typ,
            timestamp=ts,
            item_id=item_id,
            quantity=qty,
            value=val,
            context=json.loads(ctx) if ctx else None,
        )

    def customer_events(self, tenant: str, customer_id: str) -> list[Event]:
        rows = self._db().execute(
            "SELECT event_id, customer_id, item_id, type, ts, quantity, value, context FROM events"
            " WHERE tenant = ? AND customer_id = ? ORDER BY ts, event_id",
            (tenant, customer_id),
        )
        return [self._event_from(r) for r in rows]

    def customers_events_frame(
        self, tenant: str, customer_ids: Sequence[str], types: Sequence[str] | None = None
    ) -> EventFrame:
        ids = list(dict.fromkeys(customer_ids))
        type_sql = f" AND type IN ({','.join('?' * len(types))})" if types is not None else ""
        events: list[Event] = []
        db = self._db()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = db.execute(
                "SELECT event_id, customer_id, item_id, type, ts, quantity, value, context"
                f" FROM events WHERE tenant = ? AND customer_id IN ({','.join('?' * len(chunk))})"
                + type_sql,
                [tenant, *chunk, *(types or ())],
            ).fetchall()
            events.extend(map(self._event_from, rows))
        events.sort(key=lambda e: (e.timestamp, e.event_id))
        return EventFrame.from_events(events)

    def events_frame(
        self,
        tenant: str,
        types: Sequence[str] | None = None,
        before: float | None = None,
    ) -> EventFrame:
        sql = "SELECT customer_id, item_id, type, ts, quantity, value FROM events WHERE tenant = ?"
        args: list[Any] = [tenant]
        if types is not None:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            args.extend(types)
        if before is not None:
            sql += " AND ts < ?"
            args.append(before)
        rows = self._db().execute(sql + " ORDER BY ts", args).fetchall()
        if not rows:
            return EventFrame.empty()
        cust, item, typ, ts, qty, val = zip(*rows, strict=True)
        return EventFrame(
            customer_id=np.array(cust, dtype=object),
            item_id=np.array([i or "" for i in item], dtype=object),
            type=np.array(typ, dtype=object),
            timestamp=np.array(ts, dtype=np.float64),
            quantity=np.array([np.nan if q is None else q for q in qty], dtype=np.float64),
            value=np.array([np.nan if v is None else v for v in val], dtype=np.float64),
        )

    def iter_events(self, tenant: str, types: Sequence[str] | None = None) -> Iterator[Event]:
        sql = (
            "SELECT event_id, customer_id, item_id, type, ts, quantity, value, context FROM events"
            " WHERE tenant = ?"
        )
        args: list[Any] = [tenant]
        if types is not None:
            sql += f" AND type IN ({','.join('?' * len(types))})"
            args.extend(types)
        for row in self._db().execute(sql, args).fetchall():
            yield self._event_from(row)

    def count_events(self, tenant: str) -> int:
        row = (
            self._db().execute("SELECT count(*) FROM events WHERE tenant = ?", (tenant,)).fetchone()
        )
        return int(row[0])

    def customer_items(self, tenant: str, customer_id: str) -> CustomerItems:
        rows = (
            self._db()
            .execute(
                "SELECT item_id, weight, purchased, last_ts FROM customer_items"
                " WHERE tenant = ? AND customer_id = ? ORDER BY item_id",
                (tenant, customer_id),
            )
            .fetchall()
        )
        return CustomerItems(
            item_ids=[r[0] for r in rows],
            weights=[r[1] for r in rows],
            purchased=[bool(r[2]) for r in rows],
            last_ts=[r[3] for r in rows],
        )

    # -- tenant policy -------------------------------------------------------------------------
    def get_tenant_config(self, tenant: str) -> dict[str, Any]:
        row = (
            self._db()
            .execute("SELECT doc FROM tenant_config WHERE tenant = ?", (tenant,))
            .fetchone()
        )
        return json.loads(row[0]) if row else {}

    def put_tenant_config(self, tenant: str, config: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO tenant_config (tenant, doc) VALUES (?, ?)"
                " ON CONFLICT (tenant) DO UPDATE SET doc = excluded.doc",
                (tenant, _dumps(config)),
            )

    # -- models --------------------------------------------------------------------------------
    def publish_model(self, tenant: str, version: str, metrics: dict[str, Any]) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO models (tenant, version, metrics, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (tenant, version) DO UPDATE SET metrics = excluded.metrics",
                (tenant, version, _dumps(metrics), time.time()),
            )
            db.execute(
                "INSERT OR IGNORE INTO active_models (tenant, version) VALUES (?, ?)",
                (tenant, version),
            )

    def list_models(self, tenant: str) -> list[ModelVersion]:
        active = self.active_model(tenant)
        rows = self._db().execute(
            "SELECT version, metrics, created_at FROM models WHERE tenant = ? ORDER BY created_at",
            (tenant,),
        )
        return [ModelVersion(v, json.loads(m), c, v == active) for v, m, c in rows]

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

    # -- insights ------------------------------------------------------------------------------
    def put_insights(
        self, tenant: str, summary: dict[str, Any], rows: dict[str, dict[str, Any]]
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO insights_summary (tenant, doc) VALUES (?, ?)"
                " ON CONFLICT (tenant) DO UPDATE SET doc = excluded.doc",
                (tenant, _dumps(summary)),
            )
            db.execute("DELETE FROM insights_rows WHERE tenant = ?", (tenant,))
            db.executemany(
                "INSERT INTO insights_rows (tenant, customer_id, doc) VALUES (?, ?, ?)",
                ((tenant, cid, _dumps(row)) for cid, row in rows.items()),
            )

    def get_insights_summary(self, tenant: str) -> dict[str, Any] | None:
        row = (
            self._db()
            .execute("SELECT doc FROM insights_summary WHERE tenant = ?", (tenant,))
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def get_insights_row(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        row = (
            self._db()
            .execute(
                "SELECT doc FROM insights_rows WHERE tenant = ? AND customer_id = ?",
                (tenant, customer_id),
            )
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def put_insights_rows(self, tenant: str, rows: dict[str, dict[str, Any]]) -> None:
        with self._write() as db:
            db.executemany(
                "INSERT INTO insights_rows (tenant, customer_id, doc) VALUES (?, ?, ?)"
                " ON CONFLICT (tenant, customer_id) DO UPDATE SET doc = excluded.doc",
                [(tenant, cid, _dumps(row)) for cid, row in rows.items()],
            )

    # -- configurator --------------------------------------------------------------------------
    def put_family(self, tenant: str, family_id: str, family: dict[str, Any]) -> int:
        with self._write() as db:
            row = db.execute(
                "SELECT coalesce(max(version), 0) FROM families WHERE tenant = ? AND family_id = ?",
                (tenant, family_id),
            ).fetchone()
            version = int(row[0]) + 1
            db.execute(
                "INSERT INTO families (tenant, family_id, version, doc, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (tenant, family_id, version, _dumps(family), time.time()),
            )
            return version

    def get_family(
        self, tenant: str, family_id: str, version: int | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        if version is None:
            row = (
                self._db()
                .execute(
                    "SELECT version, doc FROM families WHERE tenant = ? AND family_id = ?"
                    " ORDER BY version DESC LIMIT 1",
                    (tenant, family_id),
                )
                .fetchone()
            )
        else:
            row = (
                self._db()
                .execute(
                    "SELECT version, doc FROM families WHERE tenant = ? AND family_id = ?"
                    " AND version = ?",
                    (tenant, family_id, version),
                )
                .fetchone()
            )
        return (int(row[0]), json.loads(row[1])) if row else None

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
        with self._write() as db:
            db.execute(
                "INSERT INTO configurations (tenant, customer_id, configuration_id, doc, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (tenant, customer_id, config_id, _dumps(configuration), time.time()),
            )
            if event is not None:
                self._insert_events(db, tenant, [event], None)
        return config_id

    def list_configurations(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT configuration_id, doc, created_at FROM configurations"
            " WHERE tenant = ? AND customer_id = ? ORDER BY created_at, rowid",
            (tenant, customer_id),
        )
        return [
            {**json.loads(doc), "configuration_id": cid, "created_at": created}
            for cid, doc, created in rows
        ]
