"""Real processes for the fault tests: ``atelier serve`` and a private ``redis-server``.

Each is started on a free port in its own session and stopped by its pid (``kill -9`` of the
process group where the test means a crash), so a test never touches another process: the shared
Redis on 6379 included. Server output goes to a log file the tests read (tracebacks, log lines).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import redis

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (httpx.HTTPError, redis.RedisError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class PrivateRedis:
    """A ``redis-server`` of the test's own: AOF with ``appendfsync always`` in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        cmd = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--dir",
            str(self.folder),
        ]
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        log.close()
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        wait_for(lambda: bool(client.ping()), 15, f"redis-server on port {self.port}")
        client.close()
        return self

    def kill9(self) -> None:
        """A crash: SIGKILL, no shutdown save (the AOF is all that survives)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None


class Server:
    """``atelier serve`` on a free port with the given environment (its own data dir)."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, workers: int = 1) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log_path = data_dir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "ATELIER_DATA_DIR": str(data_dir),
            "ATELIER_PORT": str(self.port),
            "ATELIER_WORKERS": str(workers),
            "ATELIER_STORE": "embedded",
            "ATELIER_RATE_LIMIT_REQUESTS": "0",
            "ATELIER_AUTH_CACHE_TTL_S": "5",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready: bool = False) -> Server:
        """Start and wait for ``/healthz`` (``ready``: for ``/readyz``, models loaded)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child keeps it)
        self.proc = subprocess.Popen(
            [str(BIN / "atelier"), "serve"],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        path = "/readyz" if ready else "/healthz"

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited ({self.proc.returncode}):\n{self.log()}")
            return httpx.get(self.url + path, timeout=1).status_code == 200

        wait_for(up, 60, f"{path} of atelier serve")
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """A crash of every process of the server (the master and its workers)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
