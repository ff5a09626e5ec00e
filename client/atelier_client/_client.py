"""The clients: :class:`Client` (sync) and :class:`AsyncClient`, on httpx.

Both have the same methods, bound once in ``_Api`` from :mod:`atelier_client._operations`;
each only sends the calls: with the key as bearer, a 429 or 503 retried after its
``Retry-After`` (bounded by :class:`~atelier_client.Retry`), pages followed by cursor, and
uploads sent batch after batch.

Examples
--------
>>> import httpx
>>> def shop(request: httpx.Request) -> httpx.Response:
...     assert request.headers["authorization"] == "Bearer k"
...     return httpx.Response(200, json={"tenant": "shop", "key_id": "k1", "scopes": ["admin"]})
>>> with Client("http://atelier", "k", transport=httpx.MockTransport(shop)) as client:
...     client.me().tenant
'shop'
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from atelier_client import _operations as ops
from atelier_client._bind import AsyncRunner, SyncRunner, batches, one, pages
from atelier_client._calls import Call, Done, Paged, Retry
from atelier_client._operations import Batches

T = TypeVar("T")
I = TypeVar("I")  # noqa: E741 (the item type of a page)

__version__ = "0.1.0"

#: What a client waits for one answer, in seconds (the API answers in milliseconds; a
#: large upload or a cold model may take longer).
DEFAULT_TIMEOUT = 30.0


def _settings(
    base_url: str, api_key: str | None, headers: Mapping[str, str] | None, timeout: float
) -> dict[str, Any]:
    sent = {"User-Agent": f"atelier-client/{__version__}", **(headers or {})}
    if api_key is not None:
        sent["Authorization"] = f"Bearer {api_key}"
    return {"base_url": base_url, "headers": sent, "timeout": timeout}


class _Api:
    """Every operation of the API, as a method of both clients."""

    healthz = one(ops.healthz)
    readyz = one(ops.readyz)
    me = one(ops.me)
    put_item = one(ops.put_item)
    get_item = one(ops.get_item)
    get_items = one(ops.get_items)
    delete_item = one(ops.delete_item)
    put_items = batches(ops.put_items)
    put_customer = one(ops.put_customer)
    patch_customer = one(ops.patch_customer)
    put_customers = batches(ops.put_customers)
    get_customer = one(ops.get_customer)
    delete_customer = one(ops.delete_customer)
    merge_customers = one(ops.merge_customers)
    export_customer = one(ops.export_customer)
    managers = one(ops.managers)
    manager_settings = one(ops.manager_settings)
    put_manager_settings = one(ops.put_manager_settings)
    worklist = one(ops.worklist)
    iter_worklist = pages(ops.iter_worklist)
    add_contact = one(ops.add_contact)
    contacts = one(ops.contacts)
    iter_contacts = pages(ops.iter_contacts)
    open_case = one(ops.open_case)
    update_case = one(ops.update_case)
    cases = one(ops.cases)
    iter_cases = pages(ops.iter_cases)
    answer = one(ops.answer)
    next_questions = one(ops.next_questions)
    put_question = one(ops.put_question)
    questions = one(ops.questions)
    delete_question = one(ops.delete_question)
    service_report = one(ops.service_report)
    send_events = batches(ops.send_events)
    recommend = one(ops.recommend)
    similar = one(ops.similar)
    cross_sell = one(ops.cross_sell)
    policy = one(ops.policy)
    put_policy = one(ops.put_policy)
    insights = one(ops.insights)
    insights_history = one(ops.insights_history)
    pareto = one(ops.pareto)
    segments = one(ops.segments)
    retention = one(ops.retention)
    share_of_customer = one(ops.share_of_customer)
    value_model = one(ops.value_model)
    value_config = one(ops.value_config)
    put_value_config = one(ops.put_value_config)
    audience = one(ops.audience)
    iter_audience = pages(ops.iter_audience)
    tier_policy = one(ops.tier_policy)
    put_tier_policy = one(ops.put_tier_policy)
    entitlements = one(ops.entitlements)
    products = one(ops.products)
    product = one(ops.product)
    put_product = one(ops.put_product)
    configure = one(ops.configure)
    variant = one(ops.variant)
    save_configuration = one(ops.save_configuration)
    configurations = one(ops.configurations)
    models = one(ops.models)
    model = one(ops.model)
    activate_model = one(ops.activate_model)
    experiments = one(ops.experiments)
    put_experiment = one(ops.put_experiment)
    experiment = one(ops.experiment)
    end_experiment = one(ops.end_experiment)
    recommendations_report = one(ops.recommendations_report)
    create_key = one(ops.create_key)
    keys = one(ops.keys)
    iter_keys = pages(ops.iter_keys)
    revoke_key = one(ops.revoke_key)


class Client(_Api, SyncRunner):
    """The sync client: ``Client(base_url, api_key)``, best used as a context manager.

    ``retry`` sets the automatic retries of 429/503 (``Retry(attempts=1)``: none);
    ``transport`` or ``http`` replace httpx's (tests, proxies, connection limits).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.retry = retry or Retry()
        self.http = http or httpx.Client(
            transport=transport, **_settings(base_url, api_key, headers, timeout)
        )

    def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                outcome: httpx.Response | httpx.TransportError = self.http.send(
                    call.request(self.http)
                )
            except httpx.TransportError as exc:
                outcome = exc
            step = call.settle(outcome, attempt, self.retry)
            if isinstance(step, Done):
                return step.value
            time.sleep(step.seconds)
            attempt += 1

    def _iterate(self, paged: Paged[Any, I]) -> Iterator[I]:
        cursor: str | None = None
        while True:
            page = self._run(paged.page(cursor))
            yield from paged.items(page)
            cursor = paged.next_cursor(page)
            if cursor is None:
                return

    def _upload(self, batches: Batches[Any, T]) -> T:
        return batches.combine([self._run(call) for call in batches.calls])

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(_Api, AsyncRunner):
    """The async client: the same methods as :class:`Client`, to ``await`` (and
    ``async for`` over the ``iter_`` ones)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.retry = retry or Retry()
        self.http = http or httpx.AsyncClient(
            transport=transport, **_settings(base_url, api_key, headers, timeout)
        )

    async def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                outcome: httpx.Response | httpx.TransportError = await self.http.send(
                    call.request(self.http)
                )
            except httpx.TransportError as exc:
                outcome = exc
            step = call.settle(outcome, attempt, self.retry)
            if isinstance(step, Done):
                return step.value
            await asyncio.sleep(step.seconds)
            attempt += 1

    async def _iterate(self, paged: Paged[Any, I]) -> AsyncIterator[I]:
        cursor: str | None = None
        while True:
            page = await self._run(paged.page(cursor))
            for item in paged.items(page):
                yield item
            cursor = paged.next_cursor(page)
            if cursor is None:
                return

    async def _upload(self, batches: Batches[Any, T]) -> T:
        # One batch after the other: a rate-limited key is not helped by parallel batches.
        return batches.combine([await self._run(call) for call in batches.calls])

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
