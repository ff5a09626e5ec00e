"""Operator logs: one line per record, JSON (default) or text, to standard error.

Records carry their fields as ``extra={...}`` (``method``, ``route``, ``status`` ...); the
formatters write those fields and the message, never arguments a caller did not name. What
must never reach a log (keys, secrets, customers' attributes, request bodies) is kept out at the
call sites: the access log writes the route *template*, not the path, and no header but the
request id.

Examples
--------
>>> import logging
>>> record = logging.LogRecord("atelier.access", logging.INFO, "", 0, "request", None, None)
>>> record.status = 200
>>> record.created = 0.0
>>> JsonFormatter().format(record)
'{"time":"1970-01-01T00:00:00.000Z","level":"info","logger":"atelier.access","message":"request","status":200}'
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal

import orjson

LogFormat = Literal["json", "text"]

#: Attributes every ``LogRecord`` has; anything else on a record was passed as ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


#: Libraries whose INFO lines name full URLs (a path holds a customer id): warnings only.
_QUIET = ("httpx", "httpcore", "urllib3")


def _timestamp(created: float) -> str:
    """RFC 3339 UTC with milliseconds."""
    whole = int(created)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        + f".{int((created - whole) * 1000):03d}Z"
    )


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the record's extra fields and,
    for an exception, its type and traceback."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info and record.exc_info[0] is not None:
            doc["error"] = record.exc_info[0].__name__
            doc["traceback"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...``, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        line = f"{_timestamp(record.created)} {record.levelname:<7} {record.name} {record.getMessage()}"
        line = f"{line} {fields}" if fields else line
        if record.exc_info and record.exc_info[0] is not None:
            line += "\n" + self.formatException(record.exc_info)
        return line


class _StderrHandler(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (not the one at set-up: test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:
            self.handleError(record)


def configure_logging(level: str = "info", fmt: LogFormat = "json") -> None:
    """Send every logger's records at ``level`` and above to standard error in ``fmt``.

    Idempotent: calling it again (each app, each worker) replaces the handler it installed.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StderrHandler):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
