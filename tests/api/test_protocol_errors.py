"""Requests uvicorn's parser refuses answer problem documents (issue 10, item 11), checked on a
real ``atelier serve``: the test client does not go through uvicorn's parser."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from api.protocol_errors import MAX_URL_BYTES
from tests.faults.processes import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(tmp_path_factory.mktemp("protocol")).start()
    try:
        yield served
    finally:
        served.stop()


def exchange(server: Server, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``raw`` on a fresh connection; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            head, sep, body = answer.partition(b"\r\n\r\n")
            if sep and b"content-length" in head.lower():
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


def test_a_url_over_64_kib_answers_a_414_problem(server: Server) -> None:
    path = "/v1/items/i1/similar?exclude=" + "x" * MAX_URL_BYTES
    status, headers, body = exchange(server, get(path))
    assert (status, headers["content-type"]) == (414, "application/problem+json")
    problem = json.loads(body)
    assert problem["status"] == 414 and str(MAX_URL_BYTES) in problem["detail"]


def test_a_url_just_under_the_limit_reaches_the_app(server: Server) -> None:
    path = "/v1/items/i1/similar?exclude="
    status, headers, body = exchange(server, get(path + "x" * (MAX_URL_BYTES - len(path))))
    assert status == 401, body  # the app answered: no key
    assert headers["content-type"] == "application/problem+json"


def test_a_request_that_is_not_http_answers_a_400_problem(server: Server) -> None:
    status, headers, body = exchange(server, b"GET /healthz HTTP/1.1\r\nHost: \x00\x01\r\n\r\n")
    assert (status, headers["content-type"]) == (400, "application/problem+json")
    assert json.loads(body)["title"] == "Bad request"
    status, _, _ = exchange(server, get("/healthz"))
    assert status == 200  # the server goes on serving
