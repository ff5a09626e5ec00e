"""Request bodies parsed once, strictly, for every route: :class:`StrictJSONRoute`.

FastAPI parses JSON bodies with the standard library, which takes ``NaN``, ``Infinity``,
integers of any size and lone surrogates, and fails with a ``RecursionError`` (400 without a
field) or deeper in the store (500) on deep nesting. Here a body is parsed by orjson (strict
RFC 8259, and faster); when orjson refuses a body that the standard library reads (one of those
values), the standard library's reading goes on to validation, which names the field that holds
the value (``core.fields``: strict numbers, :func:`core.fields.json_fault` for free-form fields),
so one bad row of a batch is rejected by its index. Nesting deeper than :data:`MAX_DEPTH` and
bodies that are not JSON answer 422 with one problem document each (``MalformedBody``).

Examples
--------
>>> parse_body(b'{"a": [1, 2.5]}')
{'a': [1, 2.5]}
>>> parse_body(b'{"a": NaN}')
{'a': nan}
>>> parse_body(b'{"a": 18446744073709551616}')
{'a': 18446744073709551616}
>>> parse_body(b"[" * 65 + b"]" * 65)
Traceback (most recent call last):
...
api.problems.MalformedBody: 422: JSON nested deeper than 64 levels
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from api.problems import MalformedBody

#: The deepest nesting of arrays and objects a body may have (orjson writes at most 254).
MAX_DEPTH = 64

# orjson reads an integer beyond 64 bits as a float: a float as large sends the body to the
# exact reading (a false alarm, a large float written as such, only costs time).
_BIG = float(2**63)
_CONTAINERS = (dict, list)


def _too_deep() -> MalformedBody:
    msg = f"JSON nested deeper than {MAX_DEPTH} levels"
    return MalformedBody(msg, [{"loc": ["body"], "msg": msg}])


def _exact(raw: bytes) -> Any:
    """The standard library's reading of a UTF-8 body (see the module docstring)."""
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        msg = f"body is not UTF-8 (byte {exc.start})"
        raise MalformedBody(f"malformed JSON: {msg}", [{"loc": ["body"], "msg": msg}]) from None
    except json.JSONDecodeError as exc:
        msg = f"{exc.msg} (line {exc.lineno}, column {exc.colno})"
        raise MalformedBody(f"malformed JSON: {msg}", [{"loc": ["body"], "msg": msg}]) from None
    except RecursionError:
        raise _too_deep() from None


def _scan(value: Any) -> tuple[bool, bool]:
    """``(nests deeper than MAX_DEPTH, holds a float beyond the 64-bit integers)``, level by
    level (one pass over each level's values: this runs on every body)."""
    level = [value]
    depth = 1
    large = False
    while level:
        if depth > MAX_DEPTH:
            return True, large
        values = [c for v in level for c in (v.values() if type(v) is dict else v)]
        if not large:
            large = any(type(c) is float and not -_BIG < c < _BIG for c in values)
        level = [c for c in values if type(c) in _CONTAINERS]
        depth += 1
    return False, large


def parse_body(raw: bytes) -> Any:
    """A request body as Python values; :class:`MalformedBody` when it is not JSON or nests
    deeper than :data:`MAX_DEPTH`."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = _exact(raw)
        large = False
    else:
        if type(value) not in _CONTAINERS:
            return value
        deep, large = _scan(value)
        if deep:
            raise _too_deep()
    if large:
        value = _exact(raw)  # an integer beyond 64 bits, read exactly for validation to refuse
    if type(value) in _CONTAINERS and _scan(value)[0]:
        raise _too_deep()
    return value


class StrictJSONRequest(Request):
    """A request whose ``json()`` is :func:`parse_body`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_body(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """The route class of every router: its endpoint reads the body with :func:`parse_body`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive, request._send))

        return strict
