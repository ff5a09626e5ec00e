"""Job locks of the embedded store: one ``flock`` file per tenant and job beside the database.

A file lock rather than a row: the operating system frees it when its holder dies (``kill -9``
included), so a crashed retrain never blocks the next one, and no expiry has to be guessed.
``ttl_s`` is therefore not needed here.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets

from store.protocols import JobLockStore
from store.sqlite.connection import SQLiteConnection

_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _file_part(name: str) -> str:
    """``name`` itself when it is a safe file name, else a hash of it."""
    if _SAFE.match(name) and name not in (".", ".."):
        return name
    return hashlib.sha256(name.encode()).hexdigest()[:24]


class SQLiteJobLocks(SQLiteConnection, JobLockStore):
    def _lock_path(self, tenant: str, job: str) -> str:
        folder = self.path.parent / "locks"
        folder.mkdir(parents=True, exist_ok=True)
        return str(folder / f"{_file_part(job)}@{_file_part(tenant)}.lock")

    def acquire_job_lock(self, tenant: str, job: str, ttl_s: float) -> str | None:
        fd = os.open(self._lock_path(tenant, job), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        token = secrets.token_hex(16)
        held: dict[str, int] = self.__dict__.setdefault("_job_locks", {})
        held[token] = fd
        return token

    def release_job_lock(self, tenant: str, job: str, token: str) -> bool:
        held: dict[str, int] = self.__dict__.setdefault("_job_locks", {})
        fd = held.pop(token, None)
        if fd is None:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        return True
