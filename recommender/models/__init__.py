"""Recommender families behind one interface (:class:`~recommender.models.base.Recommender`)."""

from recommender.models.base import NotFittedError, Recommender, rows_per_batch, topk_rows
from recommender.models.factor import ALS, BPR, FactorModel
from recommender.models.neighbours import DLAE, EASE, ItemKNN, Popularity

FAMILIES: dict[str, type[Recommender]] = {
    cls.family: cls for cls in (ALS, BPR, ItemKNN, EASE, DLAE, Popularity)
}

__all__ = [
    "ALS",
    "BPR",
    "DLAE",
    "EASE",
    "FAMILIES",
    "FactorModel",
    "ItemKNN",
    "NotFittedError",
    "Popularity",
    "Recommender",
    "rows_per_batch",
    "topk_rows",
]
