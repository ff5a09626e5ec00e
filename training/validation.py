"""The validation slice ``atelier train`` chooses on, built from the tenant's own events only.

Positive targets are purchases and ratings at or above ``positive_rating`` (by default every
rating: rating an item is engaging with it); a tenant with neither is validated on any
positively weighted interaction (views, carts, clicks). Two schemes, chosen from the data:

- ``temporal``: train on events before the last ``days`` days, targets = items new to each
  customer in those days. Used when the slice holds at least ``MIN_CUSTOMERS`` customers and
  ``MIN_SHARE`` of the active customers (enough to tell models apart); a seeded sample of
  ``MAX_CUSTOMERS`` of them is scored when there are more (a trial's cost then does not grow
  with the customer base).
- ``holdout``: otherwise, a random holdout stratified by item: of each item's customers (those
  with at least three distinct positive items), a random fifth, at least one, is held out with
  all their events. Stratified by item, every item with two or more customers is tested, so
  the score weighs the catalog's tail, where cross-selling lives, and not only the
  bestsellers that most of a customer's items are. ``HOLDOUT_FOLDS`` independent draws,
  whose metrics the search averages (one draw cannot tell apart candidates a few thousandths
  of nDCG apart: ML-100K's weightings are). The reason is recorded.

A slice with fewer than ``DEGENERATE_CUSTOMERS`` customers is *degenerate*: training warns and
``--publish`` refuses unless forced. :func:`plan_validation` returns the plan; :meth:`Validation.split`
builds the matrices of one interaction weighting (the search tries several on the same events).

Examples
--------
>>> from core.records import Event, EventFrame
>>> events = [Event(str(i), f"c{i % 40}", "purchase", float(i), item_id=f"i{i % 9}")
...           for i in range(400)]
>>> plan = plan_validation(EventFrame.from_events(events))
>>> plan.scheme, plan.degenerate
('holdout', False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.records import EventFrame
from recommender.interactions import InteractionWeights
from training.evaluation import Split, split_frame_masks

MIN_CUSTOMERS = 200
MIN_SHARE = 0.10
DEGENERATE_CUSTOMERS = 20
#: Validation customers kept at most (a seeded sample): enough to rank models, bounded cost.
MAX_CUSTOMERS = 3000
#: Independent holdout draws averaged by the search (the temporal slice is one fold), and
#: the further draws that confirm the search's few best candidates (less winner's curse).
HOLDOUT_FOLDS = 3
CONFIRM_FOLDS = 3
_POSITIVE_TYPES = ("view", "click", "add_to_cart", "configure", "purchase")
_DAY = 86400.0


@dataclass
class Validation:
    """Which events the candidates learn from (``train``) and which are their targets."""

    frame: EventFrame
    train_mask: np.ndarray
    target_mask: np.ndarray
    scheme: str
    reason: str
    targets: str
    n_customers: int
    n_active: int
    degenerate: bool
    warnings: list[str] = field(default_factory=list)
    #: Further (train, target) masks of the same scheme (the holdout's other draws).
    more_folds: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    _splits: dict[tuple[str, int], Split] = field(default_factory=dict, repr=False)

    def split(self, weights: InteractionWeights, fold: int = 0) -> Split:
        """Train matrix under ``weights`` and binary targets unseen in it (cached per weighting
        and fold; fold 0 is ``train_mask``/``target_mask``)."""
        key = (repr(sorted(weights.to_dict().items())), fold)
        if key not in self._splits:
            train, target = ((self.train_mask, self.target_mask), *self.more_folds)[fold]
            self._splits[key] = split_frame_masks(self.frame, train, target, weights)
        return self._splits[key]

    def splits(self, weights: InteractionWeights, folds: int | None = None) -> list[Split]:
        """The first ``folds`` folds' splits under ``weights`` (None: the search's
        :attr:`search_folds`); the search averages over them."""
        n = self.search_folds if folds is None else folds
        return [self.split(weights, f) for f in range(min(n, self.n_folds))]

    @property
    def n_folds(self) -> int:
        return 1 + len(self.more_folds)

    @property
    def search_folds(self) -> int:
        return min(HOLDOUT_FOLDS, self.n_folds)

    def describe(self) -> dict[str, Any]:
        """What goes into ``meta.json`` under ``validation``."""
        return {
            "scheme": self.scheme,
            "reason": self.reason,
            "targets": self.targets,
            "customers": self.n_customers,
            "active_customers": self.n_active,
            "degenerate": self.degenerate,
            "folds": self.search_folds,
            "confirm_folds": self.n_folds,
            "warnings": list(self.warnings),
        }


def positive_mask(
    frame: EventFrame, positive_rating: float | None = None
) -> tuple[np.ndarray, str]:
    """Events that count as a positive target, and a description of the rule applied."""
    types = frame.type.astype(str)
    values = np.asarray(frame.value, dtype=np.float64)
    has_item = frame.item_id != ""
    is_rating = types == "rating"
    if positive_rating is None:
        good_rating = is_rating & ~np.isnan(values)
        rule = "purchases and every rating"
    else:
        good_rating = is_rating & (values >= positive_rating)
        rule = f"purchases and ratings >= {positive_rating:g}"
    mask = has_item & ((types == "purchase") | good_rating)
    if not mask.any():
        mask = has_item & np.isin(types, _POSITIVE_TYPES)
        rule = "any positive interaction (no purchases or ratings)"
    return mask, rule


def _customers_with_targets(frame: EventFrame, train: np.ndarray, target: np.ndarray) -> int:
    """How many customers have a target item they had no training event on."""
    return len(_target_customers(frame, train, target))


def _target_customers(frame: EventFrame, train: np.ndarray, target: np.ndarray) -> set[str]:
    """The customers with a target item they had no training event on."""
    seen = set(zip(frame.customer_id[train].tolist(), frame.item_id[train].tolist(), strict=True))
    known = set(frame.customer_id[train].tolist())
    pairs = zip(frame.customer_id[target].tolist(), frame.item_id[target].tolist(), strict=True)
    return {c for c, i in pairs if c in known and (c, i) not in seen}


def _sample_targets(
    frame: EventFrame,
    target: np.ndarray,
    tested: set[str],
    rng: np.random.Generator,
    max_customers: int,
) -> np.ndarray:
    """``target`` kept for a seeded sample of ``max_customers`` of the ``tested`` customers
    (all of them when there are fewer): every candidate scores each tested customer over the
    whole catalog, so the slice's cost is bounded, not its training events."""
    if len(tested) <= max_customers:
        return target
    pool = np.array(sorted(tested), dtype=object)
    chosen = set(rng.choice(pool, size=max_customers, replace=False))
    kept = np.fromiter(
        (c in chosen for c in frame.customer_id.tolist()), dtype=bool, count=len(frame)
    )
    return target & kept


def _holdout(
    frame: EventFrame, positive: np.ndarray, rng: np.random.Generator, max_customers: int
) -> tuple[np.ndarray, np.ndarray]:
    """One random draw stratified by item: of each item's (customer, item) positive pairs among
    the customers with >= 3 distinct positive items (a seeded sample of ``max_customers``), a
    random fifth, at least one, is held out with all its events. An item with a single
    customer is never held out (no model could learn it), every customer keeps a training
    item. Returns the (train, target) masks."""
    cust = frame.customer_id.astype(str)
    item = frame.item_id.astype(str)
    pairs = np.unique(np.stack([cust[positive], item[positive]], axis=1), axis=0)
    customers, c_of, c_items = np.unique(pairs[:, 0], return_inverse=True, return_counts=True)
    eligible = np.flatnonzero(c_items >= 3)
    if len(eligible) > max_customers:
        eligible = np.sort(rng.choice(eligible, size=max_customers, replace=False))
    _, i_of, i_customers = np.unique(pairs[:, 1], return_inverse=True, return_counts=True)
    candidates = np.flatnonzero(np.isin(c_of, eligible) & (i_customers[i_of] >= 2))
    # candidates grouped by item in a random order; the first fifth of each group is held out
    order = candidates[np.lexsort((rng.random(len(candidates)), i_of[candidates]))]
    group = i_of[order]
    size = np.bincount(group, minlength=len(i_customers))
    rank = np.arange(len(order)) - (np.cumsum(size) - size)[group]
    held = np.zeros(len(pairs), dtype=bool)
    held[order[rank < np.maximum(1, np.round(0.2 * size[group]))]] = True
    left = np.bincount(c_of[~held], minlength=len(customers))
    emptied = np.flatnonzero(held & (left[c_of] == 0))
    _, first = np.unique(c_of[emptied], return_index=True)
    held[emptied[first]] = False
    held_set = set(map(tuple, pairs[held].tolist()))
    out = np.fromiter(
        ((c, i) in held_set for c, i in zip(cust.tolist(), item.tolist(), strict=True)),
        dtype=bool,
        count=len(cust),
    )
    return ~out, out & positive


def plan_validation(
    frame: EventFrame,
    days: float = 30.0,
    *,
    positive_rating: float | None = None,
    seed: int = 42,
    max_customers: int = MAX_CUSTOMERS,
    folds: int = HOLDOUT_FOLDS + CONFIRM_FOLDS,
) -> Validation:
    """Choose the validation slice of ``frame`` (see the module docstring)."""
    positive, rule = positive_mask(frame, positive_rating)
    ts = np.asarray(frame.timestamp, dtype=np.float64)
    n_active = len(np.unique(frame.customer_id)) if len(frame) else 0
    reason = "no events"
    if len(ts):
        span = float(ts.max() - ts.min())
        cut = float(ts.max()) - days * _DAY
        train = ts < cut
        target = ~train & positive
        tested = _target_customers(frame, train, target) if span > days * _DAY else set()
        n_temporal = len(tested)
        need = max(MIN_CUSTOMERS, MIN_SHARE * n_active)
        if n_temporal >= need:
            rng = np.random.default_rng(seed)
            target = _sample_targets(frame, target, tested, rng, max_customers)
            plan = _finish(frame, train, target, "temporal", rule, n_active)
            plan.reason = (
                f"the last {days:g} days hold targets for {n_temporal} customers "
                f"(needed {need:.0f}: at least {MIN_CUSTOMERS} and {MIN_SHARE:.0%} of "
                f"{n_active} active)"
            )
            if n_temporal > max_customers:
                plan.reason += f"; a seeded sample of {max_customers} of them is scored"
            return plan
        reason = (
            f"the last {days:g} days hold targets for only {n_temporal} customers "
            f"(needed {need:.0f}: at least {MIN_CUSTOMERS} and {MIN_SHARE:.0%} of "
            f"{n_active} active): random holdout stratified by item instead"
        )
    draws = [
        _holdout(frame, positive, np.random.default_rng(seed + f), max_customers)
        for f in range(max(1, folds))
    ]
    plan = _finish(frame, *draws[0], "holdout", rule, n_active)
    plan.more_folds = draws[1:]
    plan.reason = reason
    return plan


def _finish(
    frame: EventFrame,
    train: np.ndarray,
    target: np.ndarray,
    scheme: str,
    rule: str,
    n_active: int,
) -> Validation:
    n = _customers_with_targets(frame, train, target)
    warnings = []
    degenerate = n < DEGENERATE_CUSTOMERS
    if degenerate:
        warnings.append(
            f"degenerate validation: only {n} customers have a target ({rule}); "
            f"at least {DEGENERATE_CUSTOMERS} are needed to compare models"
        )
    return Validation(frame, train, target, scheme, "", rule, n, n_active, degenerate, warnings)


def score_version(folder: Any, validation: Validation, k: int = 10) -> dict[str, float]:
    """A saved version's metrics on the validation slice (its own item space and weighting;
    items outside the slice's item space are lost slots). The version may have been trained on
    events of the slice itself, so its figures can only flatter it."""
    from pathlib import Path

    from recommender.artifacts import read_meta
    from recommender.models import Recommender

    folder = Path(folder)
    meta = read_meta(folder)
    model = Recommender.load(folder)
    ids = np.load(folder / "item_ids.npy", allow_pickle=False).astype(str)
    weights = InteractionWeights.from_dict(meta.get("weights", {}))
    folds = [(validation.train_mask, validation.target_mask), *validation.more_folds]
    folds = folds[: validation.search_folds]
    return mean_metrics(
        [
            _score_fold(model, ids, weights, validation, f, train, k)
            for f, (train, _) in enumerate(folds)
        ]
    )


def mean_metrics(per_fold: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over folds (``users`` summed).

    >>> mean_metrics([{"ndcg@10": 0.25, "users": 3}, {"ndcg@10": 0.75, "users": 2}])
    {'ndcg@10': 0.5, 'users': 5}
    """
    if len(per_fold) == 1:
        return per_fold[0]
    out: dict[str, float] = {}
    for key in per_fold[0]:
        values = [m[key] for m in per_fold]
        out[key] = sum(values) if key == "users" else float(np.mean(values))
    return out


def _score_fold(
    model: Any,
    ids: np.ndarray,
    weights: InteractionWeights,
    validation: Validation,
    fold: int,
    train_mask: np.ndarray,
    k: int,
) -> dict[str, float]:
    """One fold of :func:`score_version`."""
    from recommender.interactions import build_matrix
    from recommender.models import topk_rows
    from training.evaluation import ranking_metrics

    split = validation.split(weights, fold)
    rows, _, _ = build_matrix(
        validation.frame.select(train_mask),
        weights,
        item_ids=ids,
        customer_ids=split.customer_ids,
    )
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    to_split = {item: j for j, item in enumerate(split.item_ids.astype(str).tolist())}
    remap = np.array([to_split.get(i, -1) for i in ids.tolist()] + [-1], dtype=np.int64)
    recs = np.full((split.train.shape[0], k), -1, dtype=np.int64)
    for start in range(0, len(users), 2048):
        u = users[start : start + 2048]
        scores = np.array(model.score(rows[u]), dtype=np.float32)
        r, c = rows[u].nonzero()
        scores[r, c] = -np.inf
        if split.excluded is not None:  # the slice's "already has" rule, in the version's space
            back = {int(j): v for v, j in enumerate(remap[:-1].tolist()) if j >= 0}
            hr, hc = split.excluded[u].nonzero()
            pairs = [
                (r_, back[c_])
                for r_, c_ in zip(hr.tolist(), hc.tolist(), strict=True)
                if c_ in back
            ]
            if pairs:
                pr, pc = zip(*pairs, strict=True)
                scores[list(pr), list(pc)] = -np.inf
        top, best = topk_rows(scores, k)
        recs[u, : top.shape[1]] = np.where(np.isfinite(best), remap[top], -1)
    return ranking_metrics(recs, split.test, k=k, n_items=split.train.shape[1])
