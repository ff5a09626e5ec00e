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


class Answer:
    """What the recommendation endpoints return: the served version, the items and the
    fallback label.

    An answer without reasons can be kept as its ranking (:meth:`ranked`): two flat tuples of
    item ids and scores, which Python's cycle collector does not track, its items built only
    when read. The answer cache keeps one such answer per customer; as item objects, each cost
    the collector some twenty objects, and a full collection over a warm cache of 20,000
    customers paused a worker for a quarter of a second.

    >>> a = Answer.ranked("v1", ("i1", "i2"), (0.9, 0.5), None)
    >>> [(i.item_id, i.score) for i in a.items]
    [('i1', 0.9), ('i2', 0.5)]
    >>> a == Answer("v1", [RecommendedItem("i1", 0.9), RecommendedItem("i2", 0.5)], None)
    True
    """

    __slots__ = ("_ids", "_items", "_scores", "encoded", "experiment", "fallback", "model_version")

    def __init__(
        self,
        model_version: str | None,
        items: list[RecommendedItem],
        fallback: str | None,
        experiment: dict[str, str] | None = None,
        encoded: bytes | None = None,
    ) -> None:
        self.model_version = model_version
        self.fallback = fallback
        #: ``{"experiment_id", "arm"}`` when an experiment arm answered.
        self.experiment = experiment
        #: The response document, once the HTTP layer encoded it: a cached answer (served again
        #: for the same request while the customer's state holds) is encoded only once.
        self.encoded = encoded
        self._items: list[RecommendedItem] | None = items
        self._ids: tuple[str, ...] = ()
        self._scores: tuple[float, ...] = ()

    @classmethod
    def ranked(
        cls,
        model_version: str | None,
        item_ids: tuple[str, ...],
        scores: tuple[float, ...],
        fallback: str | None,
        experiment: dict[str, str] | None = None,
    ) -> Answer:
        """An answer without reasons, kept as its ranking (see the class docstring)."""
        answer = cls(model_version, [], fallback, experiment)
        answer._items, answer._ids, answer._scores = None, item_ids, scores
        return answer

    @property
    def items(self) -> list[RecommendedItem]:
        """The recommended items, best first (built anew from a kept ranking)."""
        if self._items is not None:
            return self._items
        return [RecommendedItem(i, s) for i, s in zip(self._ids, self._scores, strict=True)]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Answer):
            return NotImplemented
        return (self.model_version, self.items, self.fallback, self.experiment) == (
            other.model_version,
            other.items,
            other.fallback,
            other.experiment,
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaced

    def __repr__(self) -> str:
        return (
            f"Answer(model_version={self.model_version!r}, items={self.items!r}, "
            f"fallback={self.fallback!r}, experiment={self.experiment!r})"
        )


def public_reason(reason: dict[str, Any]) -> dict[str, Any]:
    """Reasons as the API shows them: a type and, when any, item ids (as strings)."""
    out: dict[str, Any] = {"type": str(reason.get("type", "model"))}
    ids = reason.get("item_ids")
    if ids:
        out["item_ids"] = [str(i) for i in ids]
    return out
