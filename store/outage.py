"""Outages answer 503: a backend's "cannot answer now" errors become ``core.errors.Unavailable``.

Each backend names which of its errors mean an outage (a refused connection, a locked file), and
:func:`shield` wraps every storage method of the backend class so that those errors leave it as
:class:`~core.errors.Unavailable` (which ``api/problems.py`` answers with 503 and
``Retry-After``). Any other error is a bug and stays what it is.

Examples
--------
>>> class Flaky:
...     def get_item(self, tenant: str, item_id: str) -> None:
...         raise ConnectionResetError("gone")
>>> Shielded = shield(lambda exc: "reset" if isinstance(exc, OSError) else None)(Flaky)
>>> Shielded().get_item("t", "a")
Traceback (most recent call last):
...
core.errors.Unavailable: the store cannot answer now: reset
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from core.errors import Unavailable
from store.base import Store

C = TypeVar("C", bound=type)

log = logging.getLogger("atelier.store")

#: Why the storage cannot answer (a sentence for the problem document), or None: not an outage.
Classifier = Callable[[BaseException], str | None]

#: The methods :func:`shield` wraps: every storage call of :class:`Store` but the lifecycle
#: (``ping`` answers False during an outage, ``close`` must never fail).
STORAGE_METHODS: frozenset[str] = frozenset(
    name
    for name, member in inspect.getmembers(Store, inspect.isfunction)
    if not name.startswith("_") and name not in {"ping", "close"}
)


class ErrorOutageLog:
    """One log line per outage: an outage error after ``quiet_s`` seconds without one starts a
    new outage and is logged; the ones within it are counted, and the next logged line says how
    many there were."""

    def __init__(self, quiet_s: float = 30.0) -> None:
        self.quiet_s = quiet_s
        self._last = -float("inf")
        self._within = 0
        self._lock = threading.Lock()

    def report(self, reason: str) -> bool:
        """Note one outage error; True when it was logged (the first of an outage)."""
        now = time.monotonic()
        with self._lock:
            new = now - self._last > self.quiet_s
            self._last = now
            before, self._within = self._within, (0 if new else self._within + 1)
        if new:
            log.warning("store unavailable", extra={"reason": reason, "errors_before": before})
        return new


#: The process's outage log (every backend's errors go through it).
OUTAGES = ErrorOutageLog()


def shield(classify: Classifier, retry_after: float = 1.0) -> Callable[[C], C]:
    """Class decorator: the class's storage methods raise ``Unavailable`` on outage errors."""

    def apply(cls: C) -> C:
        for name in STORAGE_METHODS:
            method = getattr(cls, name, None)
            if method is not None:
                setattr(cls, name, _guard(method, classify, retry_after))
        return cls

    return apply


def _outage(exc: Exception, classify: Classifier, retry_after: float) -> Unavailable | None:
    """The ``Unavailable`` that ``exc`` stands for, or None when it is not an outage."""
    reason = None if isinstance(exc, Unavailable) else classify(exc)
    if reason is None:
        return None
    OUTAGES.report(reason)
    return Unavailable(f"the store cannot answer now: {reason}", retry_after=retry_after)


def _guard(method: Callable[..., Any], classify: Classifier, retry_after: float) -> Any:
    if inspect.isgeneratorfunction(method):
        # A generator's errors happen while it is consumed, not when it is called.
        @functools.wraps(method)
        def iterate(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from method(*args, **kwargs)
            except Exception as exc:
                outage = _outage(exc, classify, retry_after)
                if outage is None:
                    raise
                raise outage from exc

        return iterate

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            outage = _outage(exc, classify, retry_after)
            if outage is None:
                raise
            raise outage from exc

    return call


class OutageLog:
    """What background work says about an outage: one line when the store goes away, one when
    it is back; the ticks between (each retry, each failed refresh) log nothing.

    Examples
    --------
    >>> import logging, sys
    >>> log = logging.getLogger("doctest.outage")
    >>> log.addHandler(logging.StreamHandler(sys.stdout))
    >>> outage = OutageLog(log, "model preload")
    >>> for _ in range(3):
    ...     outage.failed(Unavailable("the store cannot answer now: gone"))
    model preload: the store cannot answer now: gone; retrying quietly until it is back
    >>> outage.succeeded(); outage.succeeded()
    model preload: the store is back
    """

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self.logger = logger
        self.what = what
        self.down = False
        self._lock = threading.Lock()

    def failed(self, exc: Unavailable) -> None:
        """The store did not answer: log it if it answered last time."""
        with self._lock:
            was_down, self.down = self.down, True
        if not was_down:
            self.logger.warning("%s: %s; retrying quietly until it is back", self.what, exc)

    def succeeded(self) -> None:
        """The store answered: log it if it did not last time (cheap when nothing changed)."""
        if not self.down:
            return
        with self._lock:
            was_down, self.down = self.down, False
        if was_down:
            self.logger.warning("%s: the store is back", self.what)
