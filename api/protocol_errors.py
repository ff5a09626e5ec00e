"""Requests uvicorn's HTTP parser refuses answer a problem document, like every other error.

uvicorn answers a request it cannot parse with a plain-text 400 ("Invalid HTTP request
received."), before the app sees it; a URL of 64 KiB or more is one of those. :class:`ProblemErrors`
makes that answer ``application/problem+json``: 414 for a request line longer than
:data:`MAX_URL_BYTES`, 400 for any other parse failure. ``atelier serve`` runs uvicorn with
:class:`ServedHttpToolsProtocol` (``http="api.protocol_errors:ServedHttpToolsProtocol"``, by
name: the command line never imports the app), which also has the slow-client limits of
:mod:`api.slow_clients`.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.problems import problem_body
from api.slow_clients import SlowClients

#: The longest URL (path and query) a request may have; one byte more answers 414. It is the
#: most uvicorn can read: its URL parser (``httptools.parse_url``) keeps 16-bit offsets.
MAX_URL_BYTES = 65_535


class _UrlTooLong(Exception):
    """Raised from the parser's URL callback: the parser stops and ``send_400_response`` runs."""


class ProblemErrors:
    """Mixin for uvicorn's httptools protocol: parse errors as problem documents."""

    url: bytes
    transport: Any
    _url_too_long = False

    def on_message_begin(self) -> None:
        self._url_too_long = False
        super().on_message_begin()  # type: ignore[misc]

    def on_url(self, url: bytes) -> None:
        super().on_url(url)  # type: ignore[misc]
        if len(self.url) > MAX_URL_BYTES:
            self._url_too_long = True
            raise _UrlTooLong  # the parser wraps it in an HttpParserCallbackError

    def send_400_response(self, msg: str) -> None:
        if self._url_too_long:
            status, detail = 414, f"the URL is longer than {MAX_URL_BYTES} bytes"
        else:
            status, detail = 400, "the request is not valid HTTP/1.1 and was not read"
        body = problem_body(status, detail)
        head = (
            f"HTTP/1.1 {status} {'URI Too Long' if status == 414 else 'Bad Request'}\r\n"
            "content-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        self.transport.close()


class ServedHttpToolsProtocol(ProblemErrors, SlowClients, HttpToolsProtocol):
    """The protocol ``atelier serve`` runs: uvicorn's httptools one with the slow-client limits
    (:mod:`api.slow_clients`) and parse errors answered with problem documents."""
