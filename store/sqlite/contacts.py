"""Contacts in the embedded store: one row per contact, keyed by the tenant's ``contact_id``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from store.codec import dumps, loads
from store.protocols import ContactStore
from store.sqlite.connection import SQLiteConnection
from store.sqlite.customers import touch_portfolios_of


def page_sql(limit: int | None, offset: int) -> str:
    """The ``LIMIT``/``OFFSET`` clause of a paged listing (all rows when ``limit`` is None)."""
    return f" LIMIT {-1 if limit is None else int(limit)} OFFSET {int(offset)}"


#: Customer ids per query of the ``*_of`` reads (well under SQLite's parameter limit).
CHUNK = 500


def records_of(
    conn: SQLiteConnection,
    table: str,
    id_column: str,
    tenant: str,
    customer_ids: Sequence[str],
    limit: int | None,
) -> dict[str, list[dict[str, Any]]]:
    """Each customer's rows of ``table`` (contacts, cases), newest first, at most ``limit``
    each: one query per :data:`CHUNK` customers (a window function numbers each one's rows)."""
    out: dict[str, list[dict[str, Any]]] = {}
    ids = list(dict.fromkeys(customer_ids))
    cap = -1 if limit is None else int(limit)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = conn._db().execute(
            f"SELECT customer_id, doc FROM (SELECT customer_id, doc, ts, {id_column},"
            f" row_number() OVER (PARTITION BY customer_id ORDER BY ts DESC, {id_column} DESC)"
            f" AS n FROM {table} WHERE tenant = ? AND customer_id IN"
            f" ({','.join('?' * len(chunk))})) WHERE ? < 0 OR n <= ?"
            f" ORDER BY customer_id, ts DESC, {id_column} DESC",
            (tenant, *chunk, cap, cap),
        )
        for cid, doc in rows:
            out.setdefault(cid, []).append(loads(doc))
    return out


class SQLiteContacts(SQLiteConnection, ContactStore):
    def add_contact(self, tenant: str, customer_id: str, contact: dict[str, Any]) -> str | None:
        with self._write() as db:
            row = db.execute(
                "INSERT INTO contacts (tenant, contact_id, customer_id, ts, doc)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                (tenant, contact["contact_id"], customer_id, contact["timestamp"], dumps(contact)),
            ).fetchone()
            if row is not None:
                touch_portfolios_of(db, tenant, [customer_id])
                return None
            held = db.execute(
                "SELECT customer_id FROM contacts WHERE tenant = ? AND contact_id = ?",
                (tenant, contact["contact_id"]),
            ).fetchone()
            return str(held[0])

    def list_contacts(
        self, tenant: str, customer_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        rows = self._db().execute(
            "SELECT doc FROM contacts WHERE tenant = ? AND customer_id = ?"
            " ORDER BY ts DESC, contact_id DESC" + page_sql(limit, offset),
            (tenant, customer_id),
        )
        return [loads(doc) for (doc,) in rows]

    def contacts_of(
        self, tenant: str, customer_ids: Sequence[str], *, limit: int | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        return records_of(self, "contacts", "contact_id", tenant, customer_ids, limit)

    def iter_contacts(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        rows = self._db().execute(
            "SELECT customer_id, doc FROM contacts WHERE tenant = ?", (tenant,)
        )
        for cid, doc in rows.fetchall():
            yield cid, loads(doc)
