"""Contacts in Redis: the ``ct`` kind of :mod:`store.redis.records` (``ctd:``, ``cts:``,
``ctown``, ``ctcust``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from store.protocols import ContactStore
from store.redis.records import RedisRecords


class RedisContacts(RedisRecords, ContactStore):
    def add_contact(self, tenant: str, customer_id: str, contact: dict[str, Any]) -> str | None:
        return self._put_record(
            "ct", tenant, customer_id, contact["contact_id"], contact["timestamp"], contact, "add"
        )

    def list_contacts(
        self, tenant: str, customer_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self._list_records("ct", tenant, customer_id, offset, limit)

    def contacts_of(
        self, tenant: str, customer_ids: Sequence[str], *, limit: int | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        return self._records_of("ct", tenant, customer_ids, limit)

    def iter_contacts(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        return self._iter_records("ct", tenant)
