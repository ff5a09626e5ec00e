"""What customers said, as profile facts: the latest answered value of each fact.

An answer names the profile fact its question sets (``attribute``, from the question bank), so
readers use facts, never questions: the configurator prefers a stated size, fit or measurement
whose name is one of the family's attributes or measurements; the recommender keeps a stated
``preferred_category`` first; the insights take a declared ``wallet``. Renaming or rewording a
question changes nothing for them; a new question that sets a known fact is used at once.

>>> stated([{"attribute": "fit", "value": "slim", "timestamp": 2.0},
...         {"attribute": "fit", "value": "regular", "timestamp": 1.0},
...         {"attribute": "waist", "value": 33, "timestamp": 1.0}])
{'fit': 'slim', 'waist': 33}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

#: The fact of a stated favourite category (the recommender keeps such items first).
PREFERRED_CATEGORY = "preferred_category"


def stated(answers: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``{fact: value}``: the latest answered value of each fact (a later answer wins)."""
    latest: dict[str, tuple[float, Any]] = {}
    for answer in answers:
        fact, ts = answer.get("attribute"), float(answer.get("timestamp") or 0.0)
        if isinstance(fact, str) and (fact not in latest or ts > latest[fact][0]):
            latest[fact] = (ts, answer.get("value"))
    return {fact: value for fact, (_, value) in latest.items()}
