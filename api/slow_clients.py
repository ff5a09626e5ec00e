"""Slow clients cannot hold the server: header and body read timeouts and a connection limit.

uvicorn's httptools protocol has a keep-alive timeout but none for a request being read: a
client that sends half its headers, or headers and never the body, kept its connection 40 s and
more, and 200 of them were held open at once. :class:`SlowClients` (a mixin for that protocol)
adds what nginx calls ``client_header_timeout`` and ``client_body_timeout``:

- **header timeout**: the request line and headers must arrive within ``header_timeout_s`` of
  the connection opening or of the request's first byte (a whole deadline, so sending one byte
  at a time does not help). A connection that opens and sends nothing is cut the same way.
- **body timeout**: while a body is awaited, at most ``body_timeout_s`` may pass between two
  reads (an idle timeout, so a large upload on a slow link still gets through).
- **connection limit**: past ``max_connections`` open connections of a worker, a request is
  answered 503 at once, with ``Retry-After`` and a problem document, instead of waiting behind
  stalled ones; the stalled ones are cut by their timeouts.

A timed-out request is answered 408 (a problem document) when no answer has started, and the
connection is closed. The limits are per worker process; a deployment puts a reverse proxy with
its own limits in front (README, "Slow clients"). uvicorn's ``h11`` protocol was the other way:
it lacks a header timeout too and parses a request an order of magnitude slower
(``load/bench_http_parsers.py``, figures in ``load/HISTORY.md``), so the faster parser keeps
serving and gets the timeouts here.

``atelier serve`` names the protocol class to uvicorn (``http="api.slow_clients:..."``: the
command line never imports the app); the settings are read in each worker from the environment.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.problems import problem_response
from settings import get_settings


def _raw(status: int, reason: str, detail: str, extra: dict[str, str] | None = None) -> bytes:
    """A whole HTTP/1.1 answer with a problem document that closes the connection."""
    response = problem_response(status, detail, headers=extra)
    head = [f"HTTP/1.1 {status} {reason}"]
    head += [f"{k.decode('latin-1')}: {v.decode('latin-1')}" for k, v in response.raw_headers]
    head.append("connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + bytes(response.body)


class SlowClients:
    """Mixin for uvicorn's ``HttpToolsProtocol``: the timeouts and limit of the module docstring.

    Hooks the parser callbacks: ``connection_made`` and ``on_message_begin`` start the header
    clock, ``on_headers_complete`` stops it (and answers 503 past the connection limit),
    ``on_body`` restarts the body clock, ``on_message_complete`` and ``connection_lost`` stop it.
    """

    loop: asyncio.AbstractEventLoop
    transport: Any
    connections: set[Any]
    cycle: Any
    app: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self.header_timeout_s = settings.header_timeout_s
        self.body_timeout_s = settings.body_timeout_s
        self.max_connections = settings.max_connections
        self._timer: asyncio.TimerHandle | None = None

    # -- the clock -----------------------------------------------------------------------------
    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        if seconds > 0:
            self._timer = self.loop.call_later(seconds, self._timed_out, what)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self, what: str) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        # Waiting for headers, ``self.cycle`` is the previous request's (answered) or None.
        cycle = self.cycle if what == "body" else None
        if cycle is None or not cycle.response_started:
            detail = f"the request's {what} did not arrive in time; the connection is closed"
            self.transport.write(_raw(408, "Request Timeout", detail))
        if cycle is not None:
            # The app waiting for the body reads a disconnect, and its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()

    # -- parser and connection callbacks -------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm(self.header_timeout_s, "headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def on_message_begin(self) -> None:
        super().on_message_begin()  # type: ignore[misc]
        self._arm(self.header_timeout_s, "headers")

    def on_headers_complete(self) -> None:
        self._disarm()
        limit = self.max_connections
        if limit and len(self.connections) > limit:
            busy = problem_response(
                503,
                f"the server has more than {limit} open connections; try again shortly",
                headers={"Retry-After": "1", "Connection": "close"},
            )
            app, self.app = self.app, busy
            try:
                super().on_headers_complete()  # type: ignore[misc]
            finally:
                self.app = app
            return
        super().on_headers_complete()  # type: ignore[misc]
        cycle = self.cycle
        if cycle is not None and cycle.more_body:
            self._arm(self.body_timeout_s, "body")

    def on_body(self, body: bytes) -> None:
        super().on_body(body)  # type: ignore[misc]
        self._arm(self.body_timeout_s, "body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()  # type: ignore[misc]


class SlowClientsHttpToolsProtocol(SlowClients, HttpToolsProtocol):
    """uvicorn's httptools protocol with the read timeouts and connection limit."""
