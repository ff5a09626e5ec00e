"""Recommender families behind one interface (:class:`~training.models.base.Recommender`)."""

from training.models.base import NotFittedError, Recommender, topk_rows
from training.models.factor import ALS, BPR, FactorModel
from training.models.neighbours import EASE, ItemKNN, Popularity

FAMILIES: dict[str, type[Recommender]] = {
    cls.family: cls for cls in (ALS, BPR, ItemKNN, EASE, Popularity)
}

__all__ = [
    "ALS", "BPR", "EASE", "FAMILIES", "FactorModel", "ItemKNN", "NotFittedError", "Popularity",
    "Recommender", "topk_rows",
]
