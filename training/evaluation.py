"""Offline evaluation: the two protocols and the ranking metrics.

Metrics follow Microsoft Recommenders' definitions (``recommenders.evaluation.python_evaluation``
with binary relevance): averaged over customers that have at least one relevant test item,

- ``precision@k`` = hits in the top k / k
- ``recall@k`` = hits / number of relevant items
- ``ndcg@k`` = sum over hits of 1/log2(rank+1) / the ideal DCG of min(k, relevant) hits
- ``map@k`` = sum over hits of precision at that rank / number of relevant items
- ``hit_rate@k`` = 1 if any hit
- ``coverage`` = distinct recommended items / catalogue items.

Protocols:

- :func:`stratified_split` - Microsoft Recommenders' ``python_stratified_split`` (random 75/25,
  stratified per item, seed 42), reproduced with numpy.
- temporal (``training.evaluate.protocol_masks``) - train before a cut date, test in a window
  after it; only items new to each customer are relevant (cross-sell).

"New to the customer" is the serving rule: what the tenant's
:class:`~recommender.policy.RecommendationPolicy` says the customer already has (by default
what they bought, rated, disliked or returned in the training part) is neither recommended nor
counted as relevant; a viewed item stays a candidate, as it does when the API serves.

Examples
--------
>>> recs = np.array([[0, 1, 2]])
>>> truth = sp.csr_matrix([[1.0, 0, 1, 0]])
>>> m = ranking_metrics(recs, truth, k=3)
>>> round(m["precision@3"], 4), round(m["recall@3"], 4), round(m["map@3"], 4)
(0.6667, 1.0, 0.8333)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.records import EventFrame
from recommender.interactions import InteractionWeights, build_matrix, with_sessions
from recommender.models import rows_per_batch
from recommender.policy import DEFAULT_POLICY, RecommendationPolicy

METRIC_NAMES = ("precision", "recall", "ndcg", "map", "hit_rate")


def ranking_metrics(
    recs: np.ndarray, truth: sp.csr_matrix, k: int = 10, n_items: int | None = None
) -> dict[str, float]:
    """Metrics of top-k recommendations ``recs`` (rows x >=k item indices, -1 = none) against
    the relevant items of each row (non-zeros of ``truth``); rows with nothing relevant skipped."""
    truth = sp.csr_matrix(truth)
    recs = np.asarray(recs)[:, :k]
    n_rel = np.diff(truth.indptr)
    rows = np.flatnonzero(n_rel > 0)
    if len(rows) == 0:
        out = {f"{name}@{k}": 0.0 for name in METRIC_NAMES}
        out["coverage"] = 0.0
        out["users"] = 0
        return out
    r = recs[rows]
    valid = r >= 0
    t = truth[rows]
    hits = np.zeros(r.shape, dtype=bool)
    safe = np.where(valid, r, 0)
    hits[:] = np.asarray(t[np.arange(len(rows))[:, None], safe].todense() != 0) & valid
    rel = n_rel[rows].astype(np.float64)
    ranks = np.arange(1, r.shape[1] + 1, dtype=np.float64)
    disc = 1.0 / np.log2(ranks + 1.0)
    dcg = (hits * disc).sum(axis=1)
    ideal_disc = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(1, k + 1) + 1.0))])
    idcg = ideal_disc[np.minimum(rel, k).astype(int)]
    cum = np.cumsum(hits, axis=1)
    ap = (hits * cum / ranks).sum(axis=1) / rel
    n_hits = hits.sum(axis=1)
    n_items = n_items if n_items is not None else truth.shape[1]
    shown = np.unique(recs[recs >= 0])
    return {
        f"precision@{k}": float((n_hits / k).mean()),
        f"recall@{k}": float((n_hits / rel).mean()),
        f"ndcg@{k}": float((dcg / idcg).mean()),
        f"map@{k}": float(ap.mean()),
        f"hit_rate@{k}": float((n_hits > 0).mean()),
        "coverage": float(len(shown) / max(n_items, 1)),
        "users": len(rows),
    }


@dataclass
class Split:
    """A train matrix and the relevant test items, in the same customer and item index spaces;
    ``excluded`` what each customer already has by the policy (never recommended; ``None``:
    the train row's items)."""

    train: sp.csr_matrix
    test: sp.csr_matrix
    customer_ids: np.ndarray
    item_ids: np.ndarray
    excluded: sp.csr_matrix | None = None
    #: the rows models fit on when they differ from ``train`` (visits stacked under the
    #: weighting's ``session_share``: :func:`recommender.interactions.with_sessions`)
    fit_matrix: sp.csr_matrix | None = None

    @property
    def fit_rows(self) -> sp.csr_matrix:
        """What a model fits on: ``fit_matrix`` when there is one, else ``train``."""
        return self.train if self.fit_matrix is None else self.fit_matrix


def split_frame_masks(
    frame: EventFrame,
    train_mask: np.ndarray,
    test_mask: np.ndarray,
    weights: InteractionWeights,
    policy: RecommendationPolicy = DEFAULT_POLICY,
) -> Split:
    """Build train (weighted) and test (binary, not already had) matrices from event masks."""
    train_frame = frame.select(train_mask)
    train, customers, items = build_matrix(train_frame, weights)
    test_frame = frame.select(test_mask)
    test_frame.type[:] = "purchase"  # relevance is binary: any test event on the item counts
    binary = InteractionWeights(type_weights={"purchase": 1.0}, binary=True)
    test, _, _ = build_matrix(test_frame, binary, item_ids=items, customer_ids=customers)
    # only items the customer does not already have are relevant (the serving rule, which
    # also removes them from the ranking)
    excluded = policy.excluded_matrix(train_frame, customers, items)
    test = (test - test.multiply(excluded)).tocsr()
    test.eliminate_zeros()
    fit = None
    if weights.session_share > 0:
        fit = with_sessions(train, train_frame, customers, items, weights.session_share)
    return Split(train, test, customers, items, excluded, fit)


def evaluate_model(
    model: Any, split: Split, k: int = 10, batch: int | None = None
) -> dict[str, float]:
    """Fit-free evaluation of a fitted model on a split (scores the train rows of test users,
    ``batch`` at a time: by default as many as :func:`~recommender.models.rows_per_batch`
    affords the catalog)."""
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    batch = batch or rows_per_batch(split.train.shape[1])
    recs = np.full((split.train.shape[0], k), -1, dtype=np.int64)
    for start in range(0, len(users), batch):
        u = users[start : start + batch]
        if split.excluded is None:
            ids, scores = model.recommend(split.train[u], N=k)
        else:  # the policy decides what is never recommended, as when serving
            ids, scores = model.recommend(
                split.train[u], N=k, filter_already_liked_items=False, filter_rows=split.excluded[u]
            )
        recs[u, : ids.shape[1]] = np.where(np.isfinite(scores), ids, -1)
    return ranking_metrics(recs, split.test, k=k, n_items=split.train.shape[1])


def format_table(rows: Sequence[tuple[str, dict[str, Any]]], columns: Sequence[str]) -> str:
    """A plain-text table: one row per (name, metrics)."""
    width = max([len(name) for name, _ in rows] + [5])
    head = "model".ljust(width) + "  " + "  ".join(c.rjust(12) for c in columns)
    lines = [head, "-" * len(head)]
    for name, metrics in rows:
        cells = []
        for c in columns:
            v = metrics.get(c)
            cells.append(("" if v is None else f"{v:.4f}").rjust(12))
        lines.append(name.ljust(width) + "  " + "  ".join(cells))
    return "\n".join(lines)


def save_json(path: str | Path, payload: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=True))


def stratified_split(
    groups: np.ndarray, ratio: float = 0.75, seed: int = 42
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (train, test) masks of Microsoft Recommenders' ``python_stratified_split``
    (random, stratified by ``groups``: pass the item ids for the per-item split the ML
    benchmarks use, the customer ids for per-customer).

    Rows in the original order; ``np.random.seed(seed)`` then one ``rand`` per row; within each
    group rows sorted by that draw, and a row whose rank / group size is at most ``ratio`` goes
    to train (so a group of 2 sends 1 row to train, a group of 4 sends 3, a group of 1 none).

    >>> train, test = stratified_split(np.array(["a", "a", "b", "b", "b", "b"]))
    >>> int(train[:2].sum()), int(train[2:].sum())
    (1, 3)
    """
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        draw = np.random.rand(len(groups))
    finally:
        np.random.set_state(state)
    _, group = np.unique(np.asarray(groups), return_inverse=True)
    order = np.lexsort((draw, group))
    g_sorted = group[order]
    counts = np.bincount(group)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(order)) - starts[g_sorted] + 1
    train = np.zeros(len(groups), dtype=bool)
    train[order] = rank / counts[g_sorted] <= ratio
    return train, ~train
