"""What the recommendation answers are made of: items with scores and reasons, the served
version and the fallback label (``None`` when a model personalised the answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Fallback labels of an answer (``None`` when personalised by a model).
POPULAR = "popular"
NO_CONSENT = "no_consent"


@dataclass(slots=True)
class RecommendedItem:
    item_id: str
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Answer:
    """What the recommendation endpoints return."""

    model_version: str | None
    items: list[RecommendedItem]
    fallback: str | None
    #: ``{"experiment_id", "arm"}`` when an experiment arm answered.
    experiment: dict[str, str] | None = None
    #: The response document, once the HTTP layer encoded it: a cached answer (served again for
    #: the same request while the customer's state holds) is encoded only once.
    encoded: bytes | None = None


def public_reason(reason: dict[str, Any]) -> dict[str, Any]:
    """Reasons as the API shows them: a type and, when any, item ids (as strings)."""
    out: dict[str, Any] = {"type": str(reason.get("type", "model"))}
    ids = reason.get("item_ids")
    if ids:
        out["item_ids"] = [str(i) for i in ids]
    return out
