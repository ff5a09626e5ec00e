"""The training job behind ``atelier train``: weigh events, choose a model, write a version.

Examples
--------
>>> import tempfile
>>> from core.records import Event, EventFrame
>>> events = [Event(str(i), f"c{i % 5}", "purchase", float(i), item_id=f"i{i % 7}")
...           for i in range(60)]
>>> folder = train_from_frame(EventFrame.from_events(events), TrainConfig(model="ease"),
...                           tempfile.mkdtemp(), "acme")
>>> read_meta(folder)["family"]
'ease'
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.records import EventFrame
from recommender.artifacts import data_fingerprint, read_meta, save_version
from recommender.interactions import InteractionWeights, build_matrix, with_sessions
from recommender.models import FAMILIES, Popularity, Recommender
from training.evaluation import evaluate_model
from training.tuning import AUTO_FAMILIES, fit_family, refit_params, search, search_auto
from training.validation import plan_validation, score_version

__all__ = ["TrainConfig", "choose", "data_window", "read_meta", "train_from_frame"]


@dataclass
class TrainConfig:
    """What ``atelier train`` fits.

    ``model`` is a family name or ``"auto"`` (search over ``families`` on a validation slice of
    the training data, :func:`training.validation.plan_validation`: its last
    ``validation_days`` days, or a random holdout stratified by item when those are too
    thin). ``params`` override a named family's defaults; ``search`` is ``"grid"`` (the default search of
    :func:`training.tuning.search_auto`, within ``budget_s``) or ``"optuna"`` (``trials``).
    With ``search_weights`` the grid also chooses the interaction weighting; otherwise
    ``weights`` is used as given. ``positive_rating`` is the lowest rating that counts as a
    validation target (None: every rating).
    """

    model: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    weights: InteractionWeights = field(default_factory=InteractionWeights)
    families: Sequence[str] = AUTO_FAMILIES
    search: str = "grid"
    trials: int = 20
    validation_days: float = 30.0
    search_weights: bool = True
    positive_rating: float | None = None
    budget_s: float = 90.0
    metric: str = "ndcg@10"
    k: int = 10
    progress: bool = True
    #: Score a named family on the validation slice too (one more fit), so that its version
    #: carries validation metrics to compare with (``auto`` always has them from the search).
    validate: bool = False


def segment_popularity(
    matrix: Any, customer_ids: np.ndarray, segments: Mapping[str, str]
) -> tuple[np.ndarray, np.ndarray] | None:
    """(names, popularity per segment x item) from customers' segment labels."""
    labels = np.array([segments.get(str(c), "") for c in customer_ids.tolist()], dtype=object)
    names = sorted({str(s) for s in labels.tolist() if s})
    if not names:
        return None
    rows = []
    for name in names:
        rows.append(Popularity().fit(matrix[np.flatnonzero(labels == name)]).popularity_)
    return np.array(names), np.vstack(rows)


def data_window(frame: EventFrame) -> dict[str, str | None]:
    """The first and last event times of the training data (ISO 8601, UTC), None when empty."""
    if not len(frame):
        return {"first_event": None, "last_event": None}
    ts = frame.timestamp
    return {
        "first_event": datetime.fromtimestamp(float(ts.min()), UTC).isoformat(),
        "last_event": datetime.fromtimestamp(float(ts.max()), UTC).isoformat(),
    }


def _validate_named(
    frame: EventFrame, config: TrainConfig, family: str, params: dict[str, Any]
) -> dict[str, float]:
    """Validation metrics of a named family: fitted on the slice's training part, scored on it."""
    plan = plan_validation(frame, config.validation_days, positive_rating=config.positive_rating)
    split = plan.split(config.weights)
    return evaluate_model(fit_family(family, params, split.fit_rows), split, k=config.k)


def train_from_frame(
    frame: EventFrame,
    config: TrainConfig,
    artifacts_root: str | Path,
    tenant: str,
    segments: Mapping[str, str] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
    active: Path | None = None,
) -> Path:
    """Build the matrix, choose/fit the model, write a new version folder and return it.

    ``segments`` maps customer ids to a segment label (from their attributes) for segment-level
    cold-start popularity; ``active`` is the folder of the version the tenant serves now, scored
    on the same validation slice. Timings (``seconds.matrix/search/fit/total``), the validation
    plan and its warnings go into ``meta.json``, with the data window and ``extra_meta`` (the
    retraining job's comparison, say).
    """
    t0 = time.perf_counter()
    weights = config.weights
    validation: dict[str, Any] = {}
    trials: list[dict[str, Any]] = []
    if config.model == "auto":
        validation, weights, family, params, trials = choose(frame, config, active)
    else:
        if config.model not in FAMILIES:
            raise ValueError(f"unknown model {config.model!r}; choose auto or {sorted(FAMILIES)}")
        family, params = config.model, dict(config.params)
        if config.validate:
            validation = {"metrics": _validate_named(frame, config, family, params)}
    t_search = time.perf_counter() - t0
    matrix, customers, items = build_matrix(frame, weights)
    if matrix.nnz == 0:
        raise ValueError(f"no usable events to train on for tenant {tenant!r}")
    t_matrix = time.perf_counter() - t0 - t_search
    t1 = time.perf_counter()
    rows = with_sessions(matrix, frame, customers, items, weights.session_share)
    model: Recommender = fit_family(family, params, rows)
    t_fit = time.perf_counter() - t1
    pop = Popularity().fit(matrix).popularity_
    seg = segment_popularity(matrix, customers, segments) if segments else None
    meta = {
        "fingerprint": data_fingerprint(matrix, items),
        "weights": weights.to_dict(),
        # where the rows' time decay counted from (serving counts from the same point)
        "decay_as_of": float(frame.timestamp[frame.item_id != ""].max()),
        "n_customers": int(matrix.shape[0]),
        "n_events": len(frame),
        "n_interactions": int(matrix.nnz),
        "data_window": data_window(frame),
        "metrics": {
            "validation": validation.get("metrics", {}),
            **{
                f"validation_{name}": validation[name]
                for name in ("popularity", "active")
                if validation.get(name)
            },
        },
        "validation": validation.get("plan", {}),
        "warnings": validation.get("plan", {}).get("warnings", []),
        "search": {
            "method": config.search if config.model == "auto" else "none",
            "searched_params": validation.get("searched_params", params),
            "weighting": validation.get("weighting", "given"),
            "trials": trials,
            "skipped": validation.get("skipped", []),
        },
        "seconds": {
            "matrix": round(t_matrix, 3),
            "search": round(t_search, 3),
            "fit": round(t_fit, 3),
        },
        **(extra_meta or {}),
    }
    folder = save_version(artifacts_root, tenant, model, items, meta, segments=seg, popularity=pop)
    total = time.perf_counter() - t0
    full = read_meta(folder)
    full["seconds"]["total"] = round(total, 3)
    (folder / "meta.json").write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
    return folder


def choose(
    frame: EventFrame, config: TrainConfig, active: Path | None = None
) -> tuple[dict[str, Any], InteractionWeights, str, dict[str, Any], list[dict[str, Any]]]:
    """The one model search of ``train``, ``retrain`` and ``evaluate --model auto``: plan the
    validation on ``frame``, search (family, parameters and, with ``search_weights``, the
    weighting), score the ``active`` version on the same slice.

    Returns (the validation document of ``meta.json``, the weighting, family, the parameters
    to refit with (:func:`~training.tuning.refit_params`), trials).
    """
    plan = plan_validation(frame, config.validation_days, positive_rating=config.positive_rating)
    weightings = None if config.search_weights else [("given", config.weights)]
    if config.search == "grid":
        result = search_auto(
            plan,
            config.families,
            weightings,
            metric=config.metric,
            k=config.k,
            budget_s=config.budget_s,
            progress=config.progress,
        )
    else:
        result = search(
            plan.split(config.weights),
            config.families,
            method=config.search,
            n_trials=config.trials,
            metric=config.metric,
            k=config.k,
            progress=config.progress,
        )
        result.weights, result.weighting = config.weights, "given"
    described = plan.describe()
    if result.metrics.get(config.metric, 0.0) <= 0.0 and not plan.degenerate:
        described["degenerate"] = True
        described["warnings"].append(
            f"degenerate validation: no candidate scores above 0 on {config.metric}"
        )
    active_metrics: dict[str, Any] = {}
    if active is not None:
        try:
            active_metrics = {"version": active.name, **score_version(active, plan, config.k)}
        except (OSError, ValueError, KeyError) as exc:
            active_metrics = {"version": active.name, "error": str(exc)}
    validation = {
        "metrics": result.metrics,
        "popularity": result.baseline,
        "active": active_metrics,
        "plan": described,
        "weighting": result.weighting,
        "skipped": result.skipped,
    }
    weights = result.weights or config.weights
    validation["searched_params"] = result.params
    params = refit_params(result.params, plan.split(weights).train)
    return validation, weights, result.family, params, result.trials
