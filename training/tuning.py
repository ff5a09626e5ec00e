"""Model selection on a validation slice carved out of the *training* data only.

``--model auto`` compares families (and each family's hyperparameters) on that slice, by
nDCG@k unless told otherwise, and refits the winner on all the training data. Two searches:
a documented grid (:data:`GRIDS`, the default: bounded and deterministic) or optuna's TPE over
:func:`_suggest` spaces, both with a progress bar.

Examples
--------
>>> import scipy.sparse as sp
>>> from training.evaluation import Split
>>> X = sp.csr_matrix(np.eye(4, dtype=np.float32))
>>> split = Split(X, X, np.arange(4).astype(str), np.arange(4).astype(str))
>>> result = search(split, ["popularity"], progress=False)
>>> result.family
'popularity'
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from recommender.models import FAMILIES, Recommender
from training.evaluation import Split, evaluate_model

#: The grid searched per family (bounded: the machine is shared). ``ease`` is skipped above
#: ``EASE_MAX_ITEMS`` items.
GRIDS: dict[str, dict[str, list[Any]]] = {
    "popularity": {},
    "itemknn": {"kind": ["bm25", "cosine"], "K": [50, 200]},
    "ease": {"l2": [50.0, 200.0, 500.0, 1500.0]},
    "als": {
        "factors": [64, 128],
        "alpha": [1.0, 5.0],
        "regularization": [0.05, 1.0],
        "iterations": [15],
    },
    "bpr": {"factors": [64], "learning_rate": [0.05], "iterations": [100]},
}
AUTO_FAMILIES: tuple[str, ...] = ("popularity", "itemknn", "ease", "als")
EASE_MAX_ITEMS = 20000


@dataclass
class SearchResult:
    """The best family/params on validation and every trial (params, metrics, seconds)."""

    family: str
    params: dict[str, Any]
    metrics: dict[str, float]
    trials: list[dict[str, Any]] = field(default_factory=list)


def grid_candidates(families: Sequence[str], n_items: int) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for fam in families:
        if fam not in FAMILIES:
            raise ValueError(f"unknown model family {fam!r}; choose from {sorted(FAMILIES)}")
        if fam == "ease" and n_items > EASE_MAX_ITEMS:
            continue
        grid = GRIDS.get(fam, {})
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            out.append((fam, dict(zip(keys, values, strict=True))))
    return out


def _suggest(trial: Any, family: str) -> dict[str, Any]:
    if family == "ease":
        return {"l2": trial.suggest_float("l2", 10.0, 5000.0, log=True)}
    if family == "als":
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128]),
            "alpha": trial.suggest_float("alpha", 0.5, 40.0, log=True),
            "regularization": trial.suggest_float("regularization", 0.01, 10.0, log=True),
            "iterations": 15,
        }
    if family == "itemknn":
        return {
            "kind": trial.suggest_categorical("kind", ["bm25", "cosine"]),
            "K": trial.suggest_int("K", 10, 400, log=True),
        }
    if family == "bpr":
        return {
            "factors": trial.suggest_categorical("factors", [32, 64, 128]),
            "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.1, log=True),
            "iterations": 100,
        }
    return {}


def _trial(split: Split, family: str, params: dict[str, Any], k: int) -> dict[str, Any]:
    start = time.perf_counter()
    model: Recommender = FAMILIES[family](**params)
    model.fit(split.train)
    metrics = evaluate_model(model, split, k=k)
    return {
        "family": family,
        "params": params,
        "metrics": metrics,
        "seconds": round(time.perf_counter() - start, 3),
    }


def search(
    split: Split,
    families: Sequence[str] = AUTO_FAMILIES,
    *,
    method: str = "grid",
    n_trials: int = 20,
    metric: str = "ndcg@10",
    k: int = 10,
    seed: int = 42,
    progress: bool = True,
) -> SearchResult:
    """Fit every candidate on ``split.train``, score on ``split.test``, keep the best."""
    trials: list[dict[str, Any]] = []
    if method == "grid":
        candidates = grid_candidates(families, split.train.shape[1])
        for fam, params in tqdm(candidates, desc="model search", disable=not progress):
            trials.append(_trial(split, fam, params, k))
    elif method == "optuna":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        fams = [f for f in families if not (f == "ease" and split.train.shape[1] > EASE_MAX_ITEMS)]

        def objective(trial: Any) -> float:
            fam = trial.suggest_categorical("family", fams)
            result = _trial(split, fam, _suggest(trial, fam), k)
            trials.append(result)
            return float(result["metrics"][metric])

        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed)
        )
        study.optimize(objective, n_trials=n_trials, show_progress_bar=progress)
    else:
        raise ValueError(f"search method must be 'grid' or 'optuna', not {method!r}")
    if not trials:
        raise ValueError("no candidate model to search")
    best = max(trials, key=lambda t: (t["metrics"][metric], -t["seconds"]))
    return SearchResult(best["family"], best["params"], best["metrics"], trials)


def validation_split(frame: Any, weights: Any, days: float = 30.0, seed: int = 42) -> Split:
    """The validation slice of training events: the last ``days`` (items new to each customer)
    when the events span at least three times that, otherwise a random 80/20 split per item."""
    from training.evaluation import split_frame_masks, temporal_split

    ts = frame.timestamp
    if len(ts) and (ts.max() - ts.min()) >= 3 * days * 86400.0:
        cut = float(ts.max()) - days * 86400.0
        return temporal_split(frame, cut, None, weights)
    rng = np.random.default_rng(seed)
    test = rng.random(len(ts)) < 0.2
    return split_frame_masks(frame, ~test, test, weights)
