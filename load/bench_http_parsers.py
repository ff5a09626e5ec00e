"""Parser cost of one request, uvicorn's two HTTP/1.1 parsers: httptools (the default, which
api/slow_clients.py extends with read timeouts) against h11, on the same request bytes.

Neither protocol of uvicorn has a header read timeout, so the choice was which one to extend;
this measures what switching to h11 would cost per request. Medians of 7 rounds of 5,000.

    .venv/bin/python load/bench_http_parsers.py
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import h11
import httptools

REQUEST = (
    b"POST /v1/events HTTP/1.1\r\nHost: atelier\r\nUser-Agent: bench\r\nAccept: */*\r\n"
    b"Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123456789\r\n"
    b"Content-Type: application/json\r\nContent-Length: 90\r\n"
    b"X-Request-ID: 4dfb8632bbba443e94f74e971f53e1da\r\n\r\n" + b"x" * 90
)


class _Callbacks:
    def on_url(self, url: bytes) -> None: ...
    def on_header(self, name: bytes, value: bytes) -> None: ...
    def on_body(self, body: bytes) -> None: ...


def with_httptools(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        httptools.HttpRequestParser(_Callbacks()).feed_data(REQUEST)
    return (time.perf_counter() - start) / n


def with_h11(n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        conn = h11.Connection(h11.SERVER)
        conn.receive_data(REQUEST)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage):
                break
    return (time.perf_counter() - start) / n


def rounds(run: Callable[[int], float]) -> list[float]:
    return sorted(run(5000) * 1e6 for _ in range(7))


def main() -> None:
    fast, slow = rounds(with_httptools), rounds(with_h11)
    for name, us in (("httptools", fast), ("h11", slow)):
        print(
            f"{name:9s} median {statistics.median(us):6.1f} us/request (min {us[0]:.1f}, max {us[-1]:.1f})"
        )
    print(f"h11 / httptools: {statistics.median(slow) / statistics.median(fast):.1f}x")


if __name__ == "__main__":
    main()
