"""ASGI middleware: the access log and request ids, Prometheus request metrics and the request
body limit.

Both are plain ASGI (no BaseHTTPMiddleware) to keep the per-request cost to a few function calls.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response

REQUESTS = Counter(
    "atelier_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "atelier_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0),
)
EVENTS_INGESTED = Counter(
    "atelier_events_ingested_total", "Events by outcome", ["tenant", "outcome"]
)


class MetricsMiddleware:
    """Counts requests and observes latency per route template (not per raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # the labelled children, looked up once per (method, route, status) instead of per
        # request (``labels()`` takes a lock and builds its key every time)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            key = (method, path, status)
            children = self._children.get(key)
            if children is None:
                children = (
                    REQUESTS.labels(method, path, str(status)),
                    LATENCY.labels(method, path),
                )
                self._children[key] = children
            children[0].inc()
            children[1].observe(time.perf_counter() - start)


class _TooLarge(StarletteHTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI's body parsing re-raises it as is."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            413, f"request body larger than {max_bytes} bytes (ATELIER_MAX_BODY_BYTES)"
        )


class BodyLimitMiddleware:
    """Answers 413 for bodies over ``max_bytes``, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        response = problem_response(
            413, f"request body larger than {self.max_bytes} bytes (ATELIER_MAX_BODY_BYTES)"
        )
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> dict[str, Any]:
    return {"type": "http.disconnect"}


ACCESS_LOG = logging.getLogger("atelier.access")
#: A client's ``X-Request-ID`` is kept when it is 1-128 visible ASCII characters; else one is made.
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


class RequestLogMiddleware:
    """One log line per request: method, route template (never the path: it holds customer
    ids), status, duration, tenant and request id; the request id (the client's
    ``X-Request-ID`` or a new one) is answered in ``X-Request-ID``. No header, query or body is
    logged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                text = value.decode("latin-1")
                request_id = text if _REQUEST_ID.fullmatch(text) else None
                break
        if request_id is None:
            request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        echoed = (b"x-request-id", request_id.encode())
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if ACCESS_LOG.isEnabledFor(logging.INFO):
                route = getattr(scope.get("route"), "path", None) or "unmatched"
                ACCESS_LOG.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": route,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                        "tenant": state.get("tenant"),
                        "request_id": request_id,
                    },
                )
