"""What one operation is, apart from how it is sent: its request, how its answer decodes, and
the retry rule. The sync and the async client send the same :class:`Call` objects, so every
operation and every rule is written once (sans-IO); each client only does the I/O.

Examples
--------
>>> import httpx
>>> from pydantic import TypeAdapter
>>> call = Call("GET", "/v1/items/a%2Fb", TypeAdapter(dict), params={"n": 3, "x": None})
>>> call.query()
{'n': 3}
>>> retry = Retry(attempts=3, backoff=0.5)
>>> busy = httpx.Response(503, headers={"Retry-After": "2"}, json={"status": 503})
>>> call.settle(busy, 0, retry)
Wait(seconds=2.0)
>>> call.settle(busy, 2, retry)  # the third attempt was the last
Traceback (most recent call last):
...
atelier_client.errors.ServiceUnavailable: 503 Service Unavailable: ...
>>> call.settle(httpx.Response(200, json={"a": 1}), 0, retry)
Done(value={'a': 1})
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from atelier_client.errors import ApiError, problem_error

T = TypeVar("T")
P = TypeVar("P")
I = TypeVar("I")  # noqa: E741 (the item type of a page)

#: Statuses that mean "not now, the request was not applied": worth another attempt.
RETRY_STATUSES = frozenset({429, 503})


def segment(value: str) -> str:
    """One path segment, percent-encoded (ids may hold ``/``, ``?``, spaces)."""
    return quote(value, safe="")


@dataclass(frozen=True)
class Retry:
    """Automatic retries of 429 and 503 answers (and of connections that never opened).

    ``attempts`` counts every try, the first included. The wait is the answer's
    ``Retry-After`` when it gives one, else ``backoff`` doubling per attempt with jitter; a
    ``Retry-After`` longer than ``max_delay`` is not waited for (the error is raised at once,
    so a caller is never blocked for longer than it allowed).
    """

    attempts: int = 4
    backoff: float = 0.25
    max_delay: float = 30.0

    def delay(self, attempt: int, error: ApiError | httpx.TransportError) -> float | None:
        """Seconds to wait before the next attempt, or None when it must not be retried."""
        if attempt + 1 >= self.attempts:
            return None
        if isinstance(error, ApiError):
            if error.status not in RETRY_STATUSES:
                return None
            if error.retry_after is not None:
                return error.retry_after if error.retry_after <= self.max_delay else None
        elif not isinstance(error, httpx.ConnectError):
            return None  # the request may have been applied: only a refused connect is safe
        backoff: float = self.backoff * 2**attempt
        return min(self.max_delay, backoff * (0.5 + random.random() / 2))


NO_RETRY = Retry(attempts=1)


@dataclass(frozen=True)
class Done(Generic[T]):
    value: T


@dataclass(frozen=True)
class Wait:
    seconds: float


def _query_value(value: Any) -> Any:
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)  # the API's lists in a query: comma-separated
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the type of its answer (``result`` None: the answer has no body)."""

    method: str
    path: str
    result: TypeAdapter[T] | None
    params: Mapping[str, Any] | None = None
    json: Any = None
    ok: frozenset[int] = field(default_factory=frozenset)

    def query(self) -> dict[str, Any]:
        """The query parameters sent: absent ones dropped, lists comma-separated."""
        return {k: _query_value(v) for k, v in (self.params or {}).items() if v is not None}

    def request(self, http: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        return http.build_request(self.method, self.path, params=self.query(), json=self.json)

    def decode(self, response: httpx.Response) -> T:
        if self.result is None:
            return None  # type: ignore[return-value]  # Call[None]: nothing to decode
        return self.result.validate_json(response.content)

    def settle(
        self, outcome: httpx.Response | httpx.TransportError, attempt: int, retry: Retry
    ) -> Done[T] | Wait:
        """The decoded answer, or how long to wait before trying again; raises the problem's
        exception (or the transport error) when the call is over."""
        if isinstance(outcome, httpx.Response):
            if outcome.status_code < 400 or outcome.status_code in self.ok:
                return Done(self.decode(outcome))
            error: ApiError | httpx.TransportError = problem_error(outcome)
        else:
            error = outcome
        delay = retry.delay(attempt, error)
        if delay is None:
            raise error
        return Wait(delay)


@dataclass(frozen=True)
class Paged(Generic[P, I]):
    """A paged list: the call of the page after ``cursor`` (None: the first), the items of a
    page and its ``next_cursor`` (None on the last page)."""

    page: Callable[[str | None], Call[P]]
    items: Callable[[P], list[I]]
    next_cursor: Callable[[P], str | None]
