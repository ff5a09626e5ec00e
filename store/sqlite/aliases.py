"""Merges and aliases in the embedded store: one write transaction moves every row of the
sources onto the surviving customer and records each source id as its alias (``aliases``)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence

from store.codec import customer_doc, decode_customer, merge_profiles
from store.protocols import AliasStore, MergeCounts
from store.sqlite.connection import SQLiteConnection
from store.sqlite.customers import touch_portfolios_of
from store.sqlite.events import aliases_in, touch_customers

# Rows that simply change hands; ``?1`` tenant, ``?2`` target, the sources after.
_MOVED = {
    "events": "UPDATE events SET customer_id = ?2 WHERE tenant = ?1 AND customer_id IN ({q})",
    "contacts": "UPDATE contacts SET customer_id = ?2 WHERE tenant = ?1 AND customer_id IN ({q})",
    "cases": "UPDATE cases SET customer_id = ?2 WHERE tenant = ?1 AND customer_id IN ({q})",
    # a configuration id the target already holds (never from generated ids) stays the target's
    "configurations": "UPDATE OR IGNORE configurations SET customer_id = ?2"
    " WHERE tenant = ?1 AND customer_id IN ({q})",
}

_HISTORY = (
    "INSERT INTO customer_items (tenant, customer_id, item_id, weight, purchased, last_ts, kinds)"
    " SELECT tenant, ?2, item_id, weight, purchased, last_ts, kinds FROM customer_items"
    " WHERE tenant = ?1 AND customer_id IN ({q}) ORDER BY customer_id, item_id"
    " ON CONFLICT DO UPDATE SET weight = weight + excluded.weight,"
    " purchased = max(purchased, excluded.purchased), last_ts = max(last_ts, excluded.last_ts),"
    " kinds = kinds | excluded.kinds"
)
_ANSWERS = (
    "INSERT INTO answers (tenant, customer_id, question_id, ts, doc)"
    " SELECT tenant, ?2, question_id, ts, doc FROM answers"
    " WHERE tenant = ?1 AND customer_id IN ({q}) ORDER BY ts"
    " ON CONFLICT DO UPDATE SET ts = excluded.ts, doc = excluded.doc WHERE excluded.ts > ts"
)
# What stays of the sources after the moves: their rows are deleted.
# (a source's past insights rows go: the merged customer's history is the survivor's)
_LEFT = (
    "customer_items",
    "answers",
    "configurations",
    "insights_rows",
    "insights_staged",
    "insights_history",
    "customers",
)


class SQLiteAliases(SQLiteConnection, AliasStore):
    def merge_customers(self, tenant: str, into: str, sources: Sequence[str]) -> MergeCounts:
        srcs = [s for s in dict.fromkeys(sources) if s != into]
        counts = MergeCounts()
        if not srcs:
            return counts
        q = ",".join(f"?{i + 3}" for i in range(len(srcs)))
        args = (tenant, into, *srcs)
        with self._write() as db:
            touch_portfolios_of(db, tenant, [into, *srcs])  # the managers before the merge
            counts.profiles = self._merge_profile(db, tenant, into, srcs)
            counts.events = db.execute(_MOVED["events"].format(q=q), args).rowcount
            counts.contacts = db.execute(_MOVED["contacts"].format(q=q), args).rowcount
            counts.cases = db.execute(_MOVED["cases"].format(q=q), args).rowcount
            counts.configurations = db.execute(_MOVED["configurations"].format(q=q), args).rowcount
            db.execute(_HISTORY.format(q=q), args)
            db.execute(_ANSWERS.format(q=q), args)
            left = {
                table: db.execute(
                    f"DELETE FROM {table} WHERE tenant = ?1 AND customer_id IN ({q})", args
                ).rowcount
                for table in _LEFT
            }
            counts.history_items = left["customer_items"]
            counts.answers = left["answers"]
            # the sources' own aliases now point at the target too: no alias of an alias
            db.execute(
                f"UPDATE aliases SET customer_id = ?2 WHERE tenant = ?1 AND customer_id IN ({q})",
                args,
            )
            db.executemany(
                "INSERT INTO aliases (tenant, alias_id, customer_id) VALUES (?, ?, ?)"
                " ON CONFLICT (tenant, alias_id) DO UPDATE SET customer_id = excluded.customer_id",
                [(tenant, s, into) for s in srcs],
            )
            touch_customers(db, tenant, {into, *srcs})
            touch_portfolios_of(db, tenant, [into])  # and the merged customer's after it
        return counts

    @staticmethod
    def _merge_profile(db: sqlite3.Connection, tenant: str, into: str, srcs: list[str]) -> int:
        """Write the merged profile of ``into``; how many source profiles it took in."""
        rows = dict(
            db.execute(
                "SELECT customer_id, doc FROM customers WHERE tenant = ?"
                f" AND customer_id IN ({','.join('?' * (len(srcs) + 1))})",
                (tenant, into, *srcs),
            ).fetchall()
        )
        sources = [decode_customer(s, rows[s]) for s in srcs if s in rows]
        if not sources:
            return 0
        target = decode_customer(into, rows[into]) if into in rows else None
        merged = merge_profiles(into, target, sources)
        assert merged is not None
        doc = customer_doc(merged, merged.created_at, time.time())
        db.execute(
            "INSERT INTO customers (tenant, customer_id, doc, account_manager) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (tenant, customer_id) DO UPDATE SET doc = excluded.doc,"
            " account_manager = excluded.account_manager",
            (tenant, into, doc, merged.account_manager),
        )
        return len(sources)

    def resolve_customers(self, tenant: str, customer_ids: Sequence[str]) -> dict[str, str]:
        return aliases_in(self._db(), tenant, customer_ids)

    def aliases_of(self, tenant: str, customer_id: str) -> list[str]:
        rows = self._db().execute(
            "SELECT alias_id FROM aliases WHERE tenant = ? AND customer_id = ? ORDER BY alias_id",
            (tenant, customer_id),
        )
        return [a for (a,) in rows]
