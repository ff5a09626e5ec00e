"""The embedded store's schema as numbered migrations, tracked by ``PRAGMA user_version``.

A file at version *n* runs migrations *n+1* onwards, all in one write transaction, so every
worker that opens the file finds it either as it was or fully upgraded. A fresh file runs them
all, which keeps the upgrade path of old files the path every test exercises. Files written
before migrations existed read as version 0 whatever their shape: the first two steps are
written to accept every such shape.

To change the schema, append a migration; never edit one that has shipped.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from core.records import INTERACTION_KINDS, kind_bit
from store.codec import dumps

Migration = Callable[[sqlite3.Connection], None]

# The schema as it stood before migrations, without the later items.version column.
_SCHEMA_1 = """
CREATE TABLE IF NOT EXISTS tenants (tenant TEXT PRIMARY KEY, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL,
    scopes TEXT NOT NULL, label TEXT, created_at REAL NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS items (
    tenant TEXT NOT NULL, item_id TEXT NOT NULL, doc TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL, PRIMARY KEY (tenant, item_id));
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


def _statements(script: str) -> Iterator[str]:
    # executescript() would commit the migration's transaction: run statement by statement.
    return (s.strip() for s in script.split(";") if s.strip())


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def schema(db: sqlite3.Connection) -> None:
    """1: every table (kept as it was, so files written before migrations pass through)."""
    for statement in _statements(_SCHEMA_1):
        db.execute(statement)


def item_versions(db: sqlite3.Connection) -> None:
    """2: items carry the catalog version that last changed them (the change feed)."""
    if "version" not in _columns(db, "items"):
        db.execute("ALTER TABLE items ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX IF NOT EXISTS items_by_version ON items (tenant, version)")


def _legacy(doc: str | None) -> Any:
    # Documents before migration 3 were written by Python's json module, which also wrote
    # NaN and Infinity; it is the one reader that takes them back.
    return json.loads(doc) if doc is not None else None


def _rebuild(
    db: sqlite3.Connection,
    table: str,
    create: str,
    select: str,
    convert: Callable[[tuple[Any, ...]], tuple[Any, ...]],
    indexes: tuple[str, ...] = (),
) -> None:
    """Copy ``table`` through ``convert`` into its new shape ``create``, then take its name."""
    db.execute(create.format(table=f"{table}_new"))
    marks = ",".join("?" * len(_columns(db, f"{table}_new")))
    # Streamed: the old table is read while the new one is written, never all in memory.
    db.executemany(f"INSERT INTO {table}_new VALUES ({marks})", map(convert, db.execute(select)))
    db.execute(f"DROP TABLE {table}")
    db.execute(f"ALTER TABLE {table}_new RENAME TO {table}")
    for index in indexes:
        db.execute(index)


def _reencode(db: sqlite3.Connection, table: str, keys: tuple[str, ...], column: str) -> None:
    """Rewrite the JSON of ``column`` that strict JSON readers refuse (NaN, Infinity)."""
    where = " AND ".join(f"{k} = ?" for k in keys)
    rows = db.execute(
        f"SELECT {', '.join(keys)}, {column} FROM {table}"
        f" WHERE {column} LIKE '%NaN%' OR {column} LIKE '%Infinity%'"
    ).fetchall()
    db.executemany(
        f"UPDATE {table} SET {column} = ? WHERE {where}",
        [(dumps(_legacy(r[-1])), *r[:-1]) for r in rows],
    )


def one_codec(db: sqlite3.Connection) -> None:
    """3: every document in the shape of ``store.codec``, the one the Redis backend also keeps.

    Items hold their tombstone flag and time in the document, customers their manager and
    times, models their metrics and time, configurations their id and time; every other
    document is re-encoded where it held what strict JSON refuses.
    """
    _rebuild(
        db,
        "items",
        "CREATE TABLE {table} (tenant TEXT NOT NULL, item_id TEXT NOT NULL, doc TEXT NOT NULL,"
        " version INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant, item_id))",
        "SELECT tenant, item_id, doc, deleted, updated_at, version FROM items",
        lambda r: (
            r[0],
            r[1],
            dumps({**_legacy(r[2]), "deleted": bool(r[3]), "updated_at": r[4]}),
            r[5],
        ),
        ("CREATE INDEX items_by_version ON items (tenant, version)",),
    )
    _rebuild(
        db,
        "customers",
        "CREATE TABLE {table} (tenant TEXT NOT NULL, customer_id TEXT NOT NULL,"
        " doc TEXT NOT NULL, account_manager TEXT, PRIMARY KEY (tenant, customer_id))",
        "SELECT tenant, customer_id, doc, account_manager, created_at, updated_at FROM customers",
        lambda r: (
            r[0],
            r[1],
            dumps(
                {**_legacy(r[2]), "account_manager": r[3], "created_at": r[4], "updated_at": r[5]}
            ),
            r[3],
        ),
        ("CREATE INDEX customers_by_manager ON customers (tenant, account_manager)",),
    )
    _rebuild(
        db,
        "models",
        "CREATE TABLE {table} (tenant TEXT NOT NULL, version TEXT NOT NULL, doc TEXT NOT NULL,"
        " PRIMARY KEY (tenant, version))",
        "SELECT tenant, version, metrics, created_at FROM models",
        lambda r: (r[0], r[1], dumps({"metrics": _legacy(r[2]), "created_at": r[3]})),
    )
    # Saved configurations list in insertion order, which the new rowids keep.
    _rebuild(
        db,
        "configurations",
        "CREATE TABLE {table} (tenant TEXT NOT NULL, customer_id TEXT NOT NULL,"
        " configuration_id TEXT NOT NULL, doc TEXT NOT NULL,"
        " PRIMARY KEY (tenant, customer_id, configuration_id))",
        "SELECT tenant, customer_id, configuration_id, doc, created_at FROM configurations"
        " ORDER BY created_at, rowid",
        lambda r: (
            r[0],
            r[1],
            r[2],
            dumps({**_legacy(r[3]), "configuration_id": r[2], "created_at": r[4]}),
        ),
    )
    _reencode(db, "tenant_config", ("tenant",), "doc")
    _reencode(db, "insights_summary", ("tenant",), "doc")
    _reencode(db, "insights_rows", ("tenant", "customer_id"), "doc")
    _reencode(db, "families", ("tenant", "family_id", "version"), "doc")
    _reencode(db, "events", ("tenant", "event_id"), "context")


_DIALOGUE = """
CREATE TABLE contacts (
    tenant TEXT NOT NULL, contact_id TEXT NOT NULL, customer_id TEXT NOT NULL, ts REAL NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (tenant, contact_id)) WITHOUT ROWID;
CREATE INDEX contacts_by_customer ON contacts (tenant, customer_id, ts);
CREATE TABLE cases (
    tenant TEXT NOT NULL, case_id TEXT NOT NULL, customer_id TEXT NOT NULL, ts REAL NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (tenant, case_id)) WITHOUT ROWID;
CREATE INDEX cases_by_customer ON cases (tenant, customer_id, ts);
CREATE TABLE questions (
    tenant TEXT NOT NULL, question_id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (tenant, question_id)) WITHOUT ROWID;
CREATE TABLE answers (
    tenant TEXT NOT NULL, customer_id TEXT NOT NULL, question_id TEXT NOT NULL, ts REAL NOT NULL,
    doc TEXT NOT NULL, PRIMARY KEY (tenant, customer_id, question_id)) WITHOUT ROWID;
CREATE TABLE aliases (
    tenant TEXT NOT NULL, alias_id TEXT NOT NULL, customer_id TEXT NOT NULL,
    PRIMARY KEY (tenant, alias_id)) WITHOUT ROWID;
CREATE INDEX aliases_by_customer ON aliases (tenant, customer_id);
"""


def dialogue(db: sqlite3.Connection) -> None:
    """7: contacts, service cases, the question bank, answers, and customer aliases (merges)."""
    for statement in _statements(_DIALOGUE):
        db.execute(statement)


def interaction_kinds(db: sqlite3.Connection) -> None:
    """4: ``customer_items.kinds``, the mask of interaction kinds per item (what the tenant's
    policy excludes and reasons name), filled from the events already stored.

    One pass over the events (the kinds' bits are distinct, so the sum of a cell's distinct
    bits is their OR) into a keyed temporary table, then one keyed update: a correlated
    subquery per row took minutes on a file of 120,000 events."""
    db.execute("ALTER TABLE customer_items ADD COLUMN kinds INTEGER NOT NULL DEFAULT 0")
    cases = " ".join(f"WHEN '{kind}' THEN {kind_bit(kind)}" for kind in INTERACTION_KINDS)
    db.execute(
        "CREATE TEMP TABLE migration_kinds (tenant TEXT, customer_id TEXT, item_id TEXT,"
        " kinds INTEGER, PRIMARY KEY (tenant, customer_id, item_id)) WITHOUT ROWID"
    )
    db.execute(
        "INSERT INTO migration_kinds SELECT tenant, customer_id, item_id, sum(bit) FROM"
        f" (SELECT DISTINCT tenant, customer_id, item_id, CASE type {cases} ELSE 0 END AS bit"
        "  FROM events WHERE item_id IS NOT NULL)"
        " GROUP BY tenant, customer_id, item_id"
    )
    db.execute(
        "UPDATE customer_items SET kinds = k.kinds FROM migration_kinds AS k"
        " WHERE k.tenant = customer_items.tenant AND k.customer_id = customer_items.customer_id"
        " AND k.item_id = customer_items.item_id"
    )
    db.execute("DROP TABLE migration_kinds")


def experiments(db: sqlite3.Connection) -> None:
    """5: ``experiments``, A/B tests between model versions (at most one running per tenant)."""
    db.execute(
        "CREATE TABLE experiments (tenant TEXT NOT NULL, experiment_id TEXT NOT NULL,"
        " doc TEXT NOT NULL, running INTEGER NOT NULL, PRIMARY KEY (tenant, experiment_id))"
    )
    db.execute("CREATE INDEX experiments_running ON experiments (tenant) WHERE running = 1")


def insights_history(db: sqlite3.Connection) -> None:
    """6: each customer's row at every insights run, and versioned insights settings."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS insights_history (tenant TEXT NOT NULL,"
        " customer_id TEXT NOT NULL, run TEXT NOT NULL, doc TEXT NOT NULL,"
        " PRIMARY KEY (tenant, customer_id, run)) WITHOUT ROWID"
    )
    db.execute(
        "CREATE TABLE IF NOT EXISTS insights_settings (tenant TEXT NOT NULL, name TEXT NOT NULL,"
        " version INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (tenant, name, version))"
    )


def service_secrets(db: sqlite3.Connection) -> None:
    """8: ``service_secrets``, secrets the service makes for itself (the configurator's key)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS service_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL,"
        " created_at REAL NOT NULL)"
    )


def insights_staging(db: sqlite3.Connection) -> None:
    """9: ``insights_staged``, a job run's rows and history entries until the run commits."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS insights_staged (tenant TEXT NOT NULL, run TEXT NOT NULL,"
        " kind TEXT NOT NULL, customer_id TEXT NOT NULL, doc TEXT NOT NULL,"
        " staged_at REAL NOT NULL, PRIMARY KEY (tenant, run, kind, customer_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX insights_staged_by_customer ON insights_staged (tenant, customer_id)")


#: The schema's history, oldest first; a file's ``user_version`` counts how many it has run.
MIGRATIONS: tuple[Migration, ...] = (
    schema,
    item_versions,
    one_codec,
    interaction_kinds,
    experiments,
    insights_history,
    dialogue,
    service_secrets,
    insights_staging,
)


def user_version(db: sqlite3.Connection) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(db: sqlite3.Connection) -> int:
    """Bring the file up to date (one transaction); the version it is at afterwards."""
    target = len(MIGRATIONS)
    if user_version(db) == target:
        return target
    db.execute("BEGIN IMMEDIATE")  # another worker may be migrating: wait for it, then re-read
    try:
        current = user_version(db)
        if current > target:
            raise RuntimeError(
                f"the database file is at schema version {current}, newer than this code's"
                f" {target}: it was written by a newer Atelier"
            )
        for step in MIGRATIONS[current:]:
            step(db)
        db.execute(f"PRAGMA user_version = {target}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return target
