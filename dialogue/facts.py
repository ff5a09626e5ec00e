"""Reading what customers said: one declared fact, the complaints still open.

>>> answers = [{"attribute": "wallet", "value": 900, "timestamp": 2.0},
...            {"attribute": "wallet", "value": 500, "timestamp": 1.0}]
>>> declared(answers, "wallet")
900
>>> open_complaints([{"kind": "complaint", "status": "open"}, {"kind": "return", "status": "open"}])
[{'kind': 'complaint', 'status': 'open'}]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def declared(answers: Iterable[dict[str, Any]], attribute: str) -> Any:
    """The latest answered value of the profile fact ``attribute``, or None when never stated."""
    latest: dict[str, Any] | None = None
    for answer in answers:
        if answer.get("attribute") == attribute and (
            latest is None or answer["timestamp"] > latest["timestamp"]
        ):
            latest = answer
    return None if latest is None else latest["value"]


def open_complaints(cases: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The complaints among ``cases`` not yet resolved."""
    return [c for c in cases if c.get("kind") == "complaint" and c.get("status") != "resolved"]
