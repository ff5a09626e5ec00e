"""Opaque cursors of paged lists (``?limit=&cursor=``): the position after the last row served.

>>> decode_cursor(encode_cursor(120))
120
>>> decode_cursor(None)
0
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from core.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list and the cursor of the next one (None on the last page)."""

    rows: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; a cursor this service never issued is a 422 on it."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        offset = int(value)
        if kind != "o" or offset < 0:
            raise ValueError(text)
    except ValueError as exc:
        raise InvalidInput(
            "invalid cursor", [{"loc": ["query", "cursor"], "msg": "not a cursor of this list"}]
        ) from exc
    return offset


def page_of(rows: list[dict[str, Any]], offset: int, limit: int) -> Page:
    """The page of ``rows`` (read with one row more than ``limit`` to know if more follow)."""
    more = len(rows) > limit
    return Page(rows[:limit], encode_cursor(offset + limit) if more else None)
