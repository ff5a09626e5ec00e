"""Service cases in Redis: the ``cs`` kind of :mod:`store.redis.records` (``csd:``, ``css:``,
``csown``, ``cscust``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from store.protocols import CaseStore
from store.redis.records import RedisRecords


class RedisCases(RedisRecords, CaseStore):
    def put_case(self, tenant: str, customer_id: str, case: dict[str, Any]) -> bool:
        held = self._put_record(
            "cs", tenant, customer_id, case["case_id"], case["opened_at"], case, "put"
        )
        return held is None

    def get_case(self, tenant: str, case_id: str) -> tuple[str, dict[str, Any]] | None:
        return self._get_record("cs", tenant, case_id)

    def list_cases(
        self, tenant: str, customer_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        return self._list_records("cs", tenant, customer_id, offset, limit)

    def cases_of(self, tenant: str, customer_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return self._records_of("cs", tenant, customer_ids, None)

    def iter_cases(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        return self._iter_records("cs", tenant)
