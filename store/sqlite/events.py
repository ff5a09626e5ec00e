"""Events, history rows and serving versions in the embedded store.

An event is a row (``store.codec.event_row``); its id is the primary key, which makes a repeat a
no-op. The history row of a customer is one ``customer_items`` row per item, updated in the
transaction that stores the event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from core.records import Event, EventFrame, FrameBuilder, kind_bit
from store.codec import event_from_row, event_row
from store.protocols import CustomerItems, EventStore, ServingVersions
from store.sqlite.connection import SQLiteConnection, bump

_EVENT_COLUMNS = "event_id, customer_id, item_id, type, ts, quantity, value, context"

# The catalog version, and the customer's version; a customer without one reads as minus the
# tenant's erasure count, so that an answer cached before an erasure is never taken for the
# erased customer's (not even for rows written before customers had versions).
# An alias reads the versions of the customer it was merged into (``asked``), and says which.
_SERVING_VERSIONS = """
WITH asked(merged) AS (SELECT customer_id FROM aliases WHERE tenant = :t AND alias_id = :c)
SELECT coalesce((SELECT value FROM counters WHERE tenant = :t AND name = 'catalog'), 0),
       coalesce((SELECT version FROM customer_versions
                 WHERE tenant = :t AND customer_id = coalesce((SELECT merged FROM asked), :c)),
                -coalesce((SELECT value FROM counters WHERE tenant = :t AND name = 'erasures'), 0)),
       (SELECT merged FROM asked)
"""


def touch_customers(db: sqlite3.Connection, tenant: str, ids: set[str]) -> None:
    """Give these customers a new serving version (inside the caller's transaction)."""
    version = bump(db, tenant, "customers")
    db.executemany(
        "INSERT INTO customer_versions (tenant, customer_id, version) VALUES (?, ?, ?)"
        " ON CONFLICT (tenant, customer_id) DO UPDATE SET version = excluded.version",
        [(tenant, cid, version) for cid in ids],
    )


def aliases_in(db: sqlite3.Connection, tenant: str, ids: Sequence[str]) -> dict[str, str]:
    """``alias -> customer`` for those of ``ids`` that are aliases (one cheap probe first: most
    tenants never merge)."""
    if db.execute("SELECT 1 FROM aliases WHERE tenant = ? LIMIT 1", (tenant,)).fetchone() is None:
        return {}
    unique = list(dict.fromkeys(ids))
    found: dict[str, str] = {}
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        rows = db.execute(
            "SELECT alias_id, customer_id FROM aliases WHERE tenant = ?"
            f" AND alias_id IN ({','.join('?' * len(chunk))})",
            (tenant, *chunk),
        )
        found.update(rows)
    return found


def insert_events(
    db: sqlite3.Connection,
    tenant: str,
    events: Sequence[Event],
    weights: Sequence[float] | None,
) -> list[bool]:
    """The writes of ``add_events``, inside the caller's transaction.

    An event sent under an alias (an id merged into another) is stored under the customer it
    was merged into, read in the same transaction as the merge wrote it.
    """
    aliases = aliases_in(db, tenant, [e.customer_id for e in events])
    if aliases:
        events = [
            replace(e, customer_id=aliases[e.customer_id]) if e.customer_id in aliases else e
            for e in events
        ]
    rows = [event_row(e) for e in events]
    new: list[bool] = []
    touched: set[str] = set()
    for i, (e, row) in enumerate(zip(events, rows, strict=True)):
        cur = db.execute(
            f"INSERT OR IGNORE INTO events (tenant, {_EVENT_COLUMNS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (tenant, *row),
        )
        is_new = cur.rowcount == 1
        new.append(is_new)
        if is_new and e.item_id and weights is not None:
            bought = int(e.type == "purchase")
            kind = kind_bit(e.type)
            db.execute(
                "INSERT INTO customer_items (tenant, customer_id, item_id, weight, purchased,"
                " last_ts, kinds) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET"
                " weight = weight + excluded.weight,"
                " purchased = max(purchased, excluded.purchased),"
                " last_ts = max(last_ts, excluded.last_ts),"
                " kinds = kinds | excluded.kinds",
                (tenant, e.customer_id, e.item_id, float(weights[i]), bought, e.timestamp, kind),
            )
            if weights[i] or kind:  # an impression (weight 0) leaves the answer as it was
                touched.add(e.customer_id)
    if touched:
        touch_customers(db, tenant, touched)
    return new


def _type_filter(types: Sequence[str] | None) -> str:
    return f" AND type IN ({','.join('?' * len(types))})" if types is not None else ""


class SQLiteEvents(SQLiteConnection, EventStore):
    def add_events(
        self, tenant: str, events: Sequence[Event], weights: Sequence[float] | None = None
    ) -> list[bool]:
        with self._write() as db:
            return insert_events(db, tenant, events, weights)

    def customer_events(self, tenant: str, customer_id: str) -> list[Event]:
        rows = self._db().execute(
            f"SELECT {_EVENT_COLUMNS} FROM events"
            " WHERE tenant = ? AND customer_id = ? ORDER BY ts, event_id",
            (tenant, customer_id),
        )
        return [event_from_row(r) for r in rows]

    def customers_events_frame(
        self, tenant: str, customer_ids: Sequence[str], types: Sequence[str] | None = None
    ) -> EventFrame:
        ids = list(dict.fromkeys(customer_ids))
        events: list[Event] = []
        db = self._db()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = db.execute(
                # Named: with an IN list and no statistics, SQLite's planner takes the primary
                # key's (tenant) prefix and reads every event of the tenant.
                f"SELECT {_EVENT_COLUMNS} FROM events INDEXED BY events_by_customer"
                f" WHERE tenant = ? AND customer_id IN ({','.join('?' * len(chunk))})"
                + _type_filter(types),
                [tenant, *chunk, *(types or ())],
            ).fetchall()
            events.extend(map(event_from_row, rows))
        events.sort(key=lambda e: (e.timestamp, e.event_id))
        return EventFrame.from_events(events)

    def events_frame(
        self,
        tenant: str,
        types: Sequence[str] | None = None,
        before: float | None = None,
    ) -> EventFrame:
        sql = "SELECT customer_id, item_id, type, ts, quantity, value FROM events WHERE tenant = ?"
        args: list[Any] = [tenant, *(types or ())]
        sql += _type_filter(types)
        if before is not None:
            sql += " AND ts < ?"
            args.append(before)
        # Row by row into numpy chunks: a job over millions of events never holds them all
        # as Python tuples (FrameBuilder keeps each distinct id once).
        frame = FrameBuilder()
        for row in self._db().execute(sql + " ORDER BY ts", args):
            frame.add(*row)
        return frame.frame()

    def iter_events(self, tenant: str, types: Sequence[str] | None = None) -> Iterator[Event]:
        rows = self._db().execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE tenant = ?" + _type_filter(types),
            [tenant, *(types or ())],
        )
        for row in rows.fetchall():
            yield event_from_row(row)

    def count_events(self, tenant: str) -> int:
        row = (
            self._db().execute("SELECT count(*) FROM events WHERE tenant = ?", (tenant,)).fetchone()
        )
        return int(row[0])

    def customer_items(self, tenant: str, customer_id: str) -> CustomerItems:
        rows = (
            self._db()
            .execute(
                "SELECT item_id, weight, purchased, last_ts, kinds FROM customer_items"
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
            kinds=[int(r[4]) for r in rows],
        )

    def serving_versions(self, tenant: str, customer_id: str) -> ServingVersions:
        row = self._db().execute(_SERVING_VERSIONS, {"t": tenant, "c": customer_id}).fetchone()
        return ServingVersions(int(row[0]), int(row[1]), row[2])
