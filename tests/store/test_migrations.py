"""A file written by the embedded store before numbered migrations opens and upgrades correctly.

The files are made here with the old code's schema text, verbatim, and rows in the shape the
old code wrote them (Python's json, NaN included; tombstones and times in columns).
"""

from __future__ import annotations

import json
import math
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from core.records import Customer, Event, Item, kind_bit
from store.sqlite import SQLiteStore
from store.sqlite.migrations import MIGRATIONS, user_version

# store/embedded.py's SCHEMA before migrations, as it was.
OLD_SCHEMA = """
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

# Older still: items before they carried catalog versions (what the old code's ALTER fixed).
UNVERSIONED_SCHEMA = OLD_SCHEMA.replace(
    "deleted INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL,\n"
    "    version INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tenant, item_id));\n"
    "CREATE INDEX IF NOT EXISTS items_by_version ON items (tenant, version);",
    "deleted INTEGER NOT NULL DEFAULT 0, updated_at REAL NOT NULL, PRIMARY KEY (tenant, item_id));",
)


def file_version(path: Path) -> int:
    with closing(sqlite3.connect(path)) as db:
        return user_version(db)


def _dumps(obj: object) -> str:  # how the old embedded store encoded documents
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def old_file(path: Path, schema: str) -> Path:
    """A file as the old code left it: its schema and one row of every kind."""
    db = sqlite3.connect(path)
    db.executescript(schema)
    db.executemany("INSERT INTO tenants VALUES (?, ?)", [("shop", 1.0)])
    db.execute(
        "INSERT INTO api_keys (key_id, key_hash, tenant, scopes, label, created_at, revoked)"
        " VALUES ('k1', 'h1', 'shop', 'events,recommend', NULL, 2.0, 0)"
    )
    versioned = "version" in {r[1] for r in db.execute("PRAGMA table_info(items)")}
    items = [
        ("shop", "a", _dumps(Item("a", title="Shirt ü", price=9.5).content()), 0, 10.0, 1),
        ("shop", "b", _dumps(Item("b", attributes={"k": [1, 2]}).content()), 1, 11.0, 2),
    ]
    if versioned:
        db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", items)
    else:
        db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)", [r[:5] for r in items])
    db.execute("INSERT INTO counters VALUES ('shop', 'catalog', 2), ('shop', 'erasures', 3)")
    db.execute(
        "INSERT INTO customers VALUES ('shop', 'c1', ?, 'am1', 20.0, 21.0)",
        (_dumps({"attributes": {"segment": "b2b"}, "consent_personalization": False}),),
    )
    db.execute(
        "INSERT INTO events VALUES ('shop', 'e1', 'c1', 'a', 'purchase', 30.0, 2, 9.5, ?)",
        (_dumps({"page": "home", "score": math.nan}),),
    )
    db.execute("INSERT INTO customer_items VALUES ('shop', 'c1', 'a', 5.0, 1, 30.0)")
    db.execute("INSERT INTO customer_versions VALUES ('shop', 'c1', 7)")
    db.execute(
        "INSERT INTO models VALUES ('shop', 'v1', ?, 40.0), ('shop', 'v2', ?, 41.0)",
        (_dumps({"ndcg@10": math.nan}), _dumps({"ndcg@10": 0.25})),
    )
    db.execute("INSERT INTO active_models VALUES ('shop', 'v2')")
    db.execute("INSERT INTO insights_summary VALUES ('shop', ?)", (_dumps({"alpha": math.inf}),))
    db.execute("INSERT INTO insights_rows VALUES ('shop', 'c1', ?)", (_dumps({"tier": "MVC"}),))
    db.execute("INSERT INTO tenant_config VALUES ('shop', ?)", (_dumps({"allow_repurchase": 1}),))
    db.execute("INSERT INTO families VALUES ('shop', 'jeans', 1, ?, 50.0)", (_dumps({"v": 1}),))
    db.executemany(
        "INSERT INTO configurations VALUES ('shop', 'c1', ?, ?, ?)",
        [("k2", _dumps({"code": "B"}), 61.0), ("k1", _dumps({"code": "A"}), 60.0)],
    )
    db.commit()
    db.close()
    return path


@pytest.mark.parametrize("schema", [OLD_SCHEMA, UNVERSIONED_SCHEMA], ids=["old", "unversioned"])
def test_an_old_file_opens_with_everything_it_held(tmp_path: Path, schema: str) -> None:
    store = SQLiteStore(old_file(tmp_path / "atelier.sqlite3", schema))
    assert file_version(store.path) == len(MIGRATIONS)
    key = store.get_api_key("h1")
    assert key is not None and key.scopes == {"events", "recommend"} and key.label is None
    a = store.get_item("shop", "a")
    assert a is not None and (a.title, a.price, a.updated_at) == ("Shirt ü", 9.5, 10.0)
    assert store.get_item("shop", "b") is None  # a tombstone stays one
    tomb = {i.item_id: i for i in store.iter_items("shop", include_deleted=True)}
    assert tomb["b"].available is False and tomb["b"].attributes == {"k": [1, 2]}
    customer = store.get_customer("shop", "c1")
    assert customer is not None and customer.attributes == {"segment": "b2b"}
    assert (customer.consent_personalization, customer.account_manager) == (False, "am1")
    assert (customer.created_at, customer.updated_at) == (20.0, 21.0)
    assert [c.customer_id for c in store.customers_of_manager("shop", "am1")] == ["c1"]
    (event,) = store.customer_events("shop", "c1")
    assert event.context == {"page": "home", "score": None}  # NaN: strict JSON has no such value
    assert (event.quantity, event.value) == (2, 9.5)
    row = store.customer_items("shop", "c1")
    assert row.weights == [5.0] and row.kinds == [kind_bit("purchase")]  # filled from events
    assert store.serving_versions("shop", "c1") == (2, 7, None)
    assert store.serving_versions("shop", "nobody") == (2, -3, None)
    models = store.list_models("shop")
    assert [(m.version, m.metrics, m.active) for m in models] == [
        ("v1", {"ndcg@10": None}, False),
        ("v2", {"ndcg@10": 0.25}, True),
    ]
    assert store.get_insights_summary("shop") == {"alpha": None}
    assert store.get_insights_row("shop", "c1") == {"tier": "MVC"}
    assert store.get_tenant_config("shop") == {"allow_repurchase": 1}
    assert store.get_family("shop", "jeans") == (1, {"v": 1})
    configurations = store.list_configurations("shop", "c1")
    assert [(c["configuration_id"], c["code"], c["created_at"]) for c in configurations] == [
        ("k1", "A", 60.0),
        ("k2", "B", 61.0),
    ]


def test_an_upgraded_file_takes_writes(tmp_path: Path) -> None:
    store = SQLiteStore(old_file(tmp_path / "atelier.sqlite3", UNVERSIONED_SCHEMA))
    # items from before versions read as version 0: in the catalog a worker loads at start
    version, changed = store.items_changed_since("shop", 0)
    assert version == 2 and changed == []
    assert store.upsert_items("shop", [Item("b", title="back")]) == [True]  # over a tombstone
    assert store.items_changed_since("shop", version)[1][0].title == "back"
    assert store.put_customer("shop", Customer("c1", account_manager="am2")) is False
    again = store.get_customer("shop", "c1")
    assert again is not None and again.created_at == 20.0  # kept from the old row
    assert store.customers_of_manager("shop", "am1") == []
    assert store.add_events("shop", [Event("e1", "c1", "view", 1.0)]) == [False]  # still a dup
    store.save_configuration("shop", "c1", {"code": "C"}, configuration_id="k3")
    assert [c["code"] for c in store.list_configurations("shop", "c1")] == ["A", "B", "C"]
    assert store.erase_customer("shop", "c1") is True
    store.close()
    # opening again runs nothing: the file is at the current version
    reopened = SQLiteStore(store.path)
    assert file_version(reopened.path) == len(MIGRATIONS)
    assert reopened.get_item("shop", "b") is not None


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "atelier.sqlite3"
    SQLiteStore(path).close()
    with closing(sqlite3.connect(path)) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        SQLiteStore(path)


def test_a_fresh_file_runs_every_migration(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    assert file_version(store.path) == len(MIGRATIONS)
    with closing(sqlite3.connect(store.path)) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(items)")}
    assert columns == {"tenant", "item_id", "doc", "version"}
