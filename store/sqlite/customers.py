"""Customer profiles in the embedded store: the codec's document, plus the manager column the
``customers_of_manager`` index reads."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from core.records import Customer
from store.codec import customer_doc, decode_customer, loads
from store.protocols import CustomerStore
from store.sqlite.connection import SQLiteConnection
from store.sqlite.events import touch_customers


class SQLiteCustomers(SQLiteConnection, CustomerStore):
    def put_customer(self, tenant: str, customer: Customer) -> bool:
        return self.put_customers(tenant, [customer])[0]

    def put_customers(self, tenant: str, customers: Sequence[Customer]) -> list[bool]:
        now = time.time()
        created: list[bool] = []
        with self._write() as db:
            for customer in customers:
                cid = customer.customer_id
                row = db.execute(
                    "SELECT doc FROM customers WHERE tenant = ? AND customer_id = ?", (tenant, cid)
                ).fetchone()
                created_at = loads(row[0])["created_at"] if row else now
                doc = customer_doc(customer, created_at, now)
                db.execute(
                    "INSERT INTO customers (tenant, customer_id, doc, account_manager)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (tenant, customer_id) DO UPDATE SET"
                    " doc = excluded.doc, account_manager = excluded.account_manager",
                    (tenant, cid, doc, customer.account_manager),
                )
                created.append(row is None)
            if customers:
                touch_customers(db, tenant, {c.customer_id for c in customers})
        return created

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

    def iter_customers(self, tenant: str) -> Iterator[Customer]:
        rows = self._db().execute(
            "SELECT customer_id, doc FROM customers WHERE tenant = ? ORDER BY customer_id",
            (tenant,),
        )
        for cid, doc in rows.fetchall():
            yield decode_customer(cid, doc)
