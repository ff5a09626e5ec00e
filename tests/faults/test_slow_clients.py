"""Slow clients against the real server (``atelier serve``: uvicorn's parser, not the test
client): a request whose headers or body stall is answered 408 and cut after its timeout,
stalled connections beyond the limit do not hold a normal request, and a slow but steady upload
still gets through (the body timeout is between reads, not for the whole body)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from access.keys import create_key, parse_scopes
from tests.faults.conftest import open_store
from tests.faults.processes import Server, wait_for

HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 20
#: How late after its timeout a stalled connection may be cut (a loaded machine).
SLACK_S = 2.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """One server for the module (each test leaves it as it found it): short timeouts, a small
    connection limit, and an events key."""
    data: Path = tmp_path_factory.mktemp("slow") / "data"
    store = open_store("embedded", data, None)
    _, secret = create_key(store, "shop", parse_scopes("events"))
    store.close()
    env = {
        "ATELIER_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "ATELIER_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "ATELIER_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
    }
    server = Server(data, env).start()
    try:
        yield server, secret
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]


def connect(server: Server) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", server.port), timeout=HEADER_TIMEOUT_S + 10)
    return s


def until_closed(s: socket.socket) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed it."""
    got = b""
    while chunk := s.recv(65536):
        got += chunk
    return got, time.monotonic()


def assert_cut_with_408(s: socket.socket, started: float, timeout_s: float) -> None:
    answer, closed = until_closed(s)
    s.close()
    assert timeout_s - 0.2 <= closed - started <= timeout_s + SLACK_S, closed - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"content-type: application/problem+json" in head.lower()
    assert b'"status":408' in body


def test_half_sent_headers_and_a_silent_connection_are_cut_after_the_header_timeout(
    served: tuple[Server, str],
) -> None:
    server, _ = served
    silent, half, trickle = connect(server), connect(server), connect(server)
    started = time.monotonic()
    half.sendall(b"POST /v1/events HTTP/1.1\r\nHost: atelier\r\nContent-")
    # One byte at a time does not reset the clock: the headers have one deadline.
    for byte in b"GET /healthz HTTP/1.1\r\nHost: at":
        trickle.sendall(bytes([byte]))
        time.sleep(HEADER_TIMEOUT_S / 20)
        if time.monotonic() - started > HEADER_TIMEOUT_S - 0.3:
            break
    for s in (half, trickle, silent):
        assert_cut_with_408(s, started, HEADER_TIMEOUT_S)


def test_headers_without_the_body_are_cut_after_the_body_timeout(
    served: tuple[Server, str],
) -> None:
    server, secret = served
    head = (
        "POST /v1/events HTTP/1.1\r\nHost: atelier\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Length: 400\r\n\r\n"
    ).encode()
    nothing, part = connect(server), connect(server)
    nothing.sendall(head)
    part.sendall(head + b'{"events": [')
    started = time.monotonic()
    for s in (nothing, part):
        assert_cut_with_408(s, started, BODY_TIMEOUT_S)


def test_a_slow_but_steady_body_is_read_whole(served: tuple[Server, str]) -> None:
    server, secret = served
    body = b'{"events": [{"event_id": "slow-1", "customer_id": "c1", "item_id": "i1", "type": "view"}]}'
    s = connect(server)
    s.sendall(
        (
            "POST /v1/events HTTP/1.1\r\nHost: atelier\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {secret}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
    )
    started = time.monotonic()
    pieces = [body[k : k + 16] for k in range(0, len(body), 16)]
    for piece in pieces:  # each read within the body timeout, the whole body well beyond it
        time.sleep(BODY_TIMEOUT_S / 2)
        s.sendall(piece)
    assert time.monotonic() - started > 2 * BODY_TIMEOUT_S
    answer, _ = until_closed(s)
    s.close()
    assert answer.startswith(b"HTTP/1.1 202"), answer[:300]


def test_stalled_connections_past_the_limit_do_not_hold_a_normal_request(
    served: tuple[Server, str],
) -> None:
    server, _ = served
    stalled = [connect(server) for _ in range(MAX_CONNECTIONS + 10)]
    for s in stalled:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: atel")
    started = time.monotonic()
    try:
        # At once: refused with a 503 problem and Retry-After, never left waiting.
        r = httpx.get(server.url + "/healthz", timeout=HEADER_TIMEOUT_S)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "1"
        assert r.headers["content-type"].startswith("application/problem+json")
        # Once the stalled ones are cut by their header timeout, normal requests are served.
        wait_for(
            lambda: httpx.get(server.url + "/healthz", timeout=1).status_code == 200,
            HEADER_TIMEOUT_S + SLACK_S,
            "/healthz after the stalled connections were cut",
        )
        assert time.monotonic() - started <= HEADER_TIMEOUT_S + SLACK_S
        for s in stalled:
            s.settimeout(SLACK_S)
            answer, _ = until_closed(s)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    finally:
        for s in stalled:
            s.close()
