"""Customer profiles in the embedded store: the codec's document, plus the manager column the
``customers_of_manager`` index reads.

A portfolio's version (``portfolio_version``) lives in ``counters``: ``portfolio:<manager>``
holds the value the tenant's ``portfolios`` sequence had at the portfolio's last change, and
``portfolios:all`` the value at the last insights run (which replaces every row at once)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from core.records import Customer
from store.codec import customer_doc, decode_customer, loads
from store.protocols import CustomerStore
from store.sqlite.connection import SQLiteConnection, bump
from store.sqlite.events import touch_customers

#: The ``counters`` name a whole-tenant change of every portfolio (an insights run) is kept under.
ALL_PORTFOLIOS = "portfolios:all"
#: Customer ids per query (well under SQLite's parameter limit).
_CHUNK = 500


def touch_portfolios(db: sqlite3.Connection, tenant: str, managers: Iterable[str | None]) -> None:
    """Give these managers' portfolios a new version (inside the caller's transaction)."""
    names = sorted({f"portfolio:{m}" for m in managers if m})
    if not names:
        return
    version = bump(db, tenant, "portfolios")
    db.executemany(
        "INSERT INTO counters (tenant, name, value) VALUES (?, ?, ?)"
        " ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value",
        [(tenant, name, version) for name in names],
    )


def touch_portfolios_of(db: sqlite3.Connection, tenant: str, customer_ids: Iterable[str]) -> None:
    """Give the portfolios holding these customers a new version (inside the transaction,
    before the write that could move the customers away)."""
    ids = list(dict.fromkeys(customer_ids))
    managers: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        managers.update(
            m
            for (m,) in db.execute(
                "SELECT DISTINCT account_manager FROM customers WHERE tenant = ?"
                f" AND account_manager IS NOT NULL AND customer_id IN ({','.join('?' * len(chunk))})",
                (tenant, *chunk),
            )
        )
    touch_portfolios(db, tenant, managers)


def touch_all_portfolios(db: sqlite3.Connection, tenant: str) -> None:
    """Every portfolio of the tenant gets a new version (an insights run rewrote every row)."""
    version = bump(db, tenant, "portfolios")
    db.execute(
        "INSERT INTO counters (tenant, name, value) VALUES (?, ?, ?)"
        " ON CONFLICT (tenant, name) DO UPDATE SET value = excluded.value",
        (tenant, ALL_PORTFOLIOS, version),
    )


def _doc_row(db: sqlite3.Connection, tenant: str, customer_id: str) -> tuple[str] | None:
    row: tuple[str] | None = db.execute(
        "SELECT doc FROM customers WHERE tenant = ? AND customer_id = ?", (tenant, customer_id)
    ).fetchone()
    return row


def _write_profile(
    db: sqlite3.Connection, tenant: str, customer: Customer, created_at: float, now: float
) -> None:
    db.execute(
        "INSERT INTO customers (tenant, customer_id, doc, account_manager)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (tenant, customer_id) DO UPDATE SET"
        " doc = excluded.doc, account_manager = excluded.account_manager",
        (
            tenant,
            customer.customer_id,
            customer_doc(customer, created_at, now),
            customer.account_manager,
        ),
    )


class SQLiteCustomers(SQLiteConnection, CustomerStore):
    def put_customer(self, tenant: str, customer: Customer) -> bool:
        return self.put_customers(tenant, [customer])[0]

    def put_customers(self, tenant: str, customers: Sequence[Customer]) -> list[bool]:
        now = time.time()
        created: list[bool] = []
        managers: set[str | None] = set()
        with self._write() as db:
            for customer in customers:
                row = _doc_row(db, tenant, customer.customer_id)
                held = loads(row[0]) if row else {}
                created_at = held.get("created_at", now)
                managers.update((held.get("account_manager"), customer.account_manager))
                _write_profile(db, tenant, customer, created_at, now)
                created.append(row is None)
            if customers:
                touch_customers(db, tenant, {c.customer_id for c in customers})
                touch_portfolios(db, tenant, managers)
        return created

    def update_customer(
        self, tenant: str, customer_id: str, change: Callable[[Customer | None], Customer]
    ) -> tuple[bool, Customer]:
        # BEGIN IMMEDIATE takes the write lock before the read: no other writer (thread or
        # worker process) can slip a write between the read and the write.
        now = time.time()
        with self._write() as db:
            row = _doc_row(db, tenant, customer_id)
            old = decode_customer(customer_id, row[0]) if row else None
            new = change(old)
            _write_profile(db, tenant, new, old.created_at if old else now, now)
            touch_customers(db, tenant, {customer_id})
            touch_portfolios(
                db, tenant, {old.account_manager if old else None, new.account_manager}
            )
        stored = self.get_customer(tenant, customer_id)
        assert stored is not None
        return row is None, stored

    def get_customer(self, tenant: str, customer_id: str) -> Customer | None:
        row = (
            self._db()
            .execute(
                "SELECT doc FROM customers WHERE tenant = ? AND customer_id = ?",
                (tenant, customer_id),
            )
            .fetchone()
        )
        return decode_customer(customer_id, row[0]) if row else None

    def customer_known(self, tenant: str, customer_id: str) -> bool:
        row = (
            self._db()
            .execute(
                "SELECT EXISTS (SELECT 1 FROM customers WHERE tenant = ?1 AND customer_id = ?2)"
                " OR EXISTS (SELECT 1 FROM events WHERE tenant = ?1 AND customer_id = ?2)",
                (tenant, customer_id),
            )
            .fetchone()
        )
        return bool(row[0])

    def customers_of_manager(self, tenant: str, manager_id: str) -> list[Customer]:
        rows = self._db().execute(
            "SELECT customer_id, doc FROM customers"
            " WHERE tenant = ? AND account_manager = ? ORDER BY customer_id",
            (tenant, manager_id),
        )
        return [decode_customer(cid, doc) for cid, doc in rows]

    def portfolio_version(self, tenant: str, manager_id: str) -> int:
        row = (
            self._db()
            .execute(
                "SELECT coalesce(max(value), 0) FROM counters WHERE tenant = ? AND name IN (?, ?)",
                (tenant, f"portfolio:{manager_id}", ALL_PORTFOLIOS),
            )
            .fetchone()
        )
        return int(row[0])

    def iter_customers(self, tenant: str) -> Iterator[Customer]:
        rows = self._db().execute(
            "SELECT customer_id, doc FROM customers WHERE tenant = ? ORDER BY customer_id",
            (tenant,),
        )
        for cid, doc in rows.fetchall():
            yield decode_customer(cid, doc)
