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
from recommender.interactions import InteractionWeights, build_matrix
from recommender.models import FAMILIES, Popularity, Recommender
from training.evaluation import evaluate_model
from training.tuning import AUTO_FAMILIES, search, validation_split

__all__ = ["TrainConfig", "data_window", "read_meta", "train_from_frame"]


@dataclass
class TrainConfig:
    """What ``atelier train`` fits.

    ``model`` is a family name or ``"auto"`` (search over ``families`` on a validation slice of
    the training data: its last ``validation_days`` days). ``params`` override a named family's
    defaults; ``search`` is ``"grid"`` or ``"optuna"`` (``trials`` for optuna).
    """

    model: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    weights: InteractionWeights = field(default_factory=InteractionWeights)
    families: Sequence[str] = AUTO_FAMILIES
    search: str = "grid"
    trials: int = 20
    validation_days: float = 30.0
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
    split = validation_split(frame, config.weights, config.validation_days)
    model: Recommender = FAMILIES[family](**params)
    return evaluate_model(model.fit(split.train), split, k=config.k)


def train_from_frame(
    frame: EventFrame,
    config: TrainConfig,
    artifacts_root: str | Path,
    tenant: str,
    segments: Mapping[str, str] | None = None,
    extra_meta: Mapping[str, Any] | None = None,
) -> Path:
    """Build the matrix, choose/fit the model, write a new version folder and return it.

    ``segments`` maps customer ids to a segment label (from their attributes) for segment-level
    cold-start popularity. Timings (``seconds.matrix/search/fit/total``) go into ``meta.json``,
    with the data window and ``extra_meta`` (the retraining job's comparison, say).
    """
    t0 = time.perf_counter()
    matrix, customers, items = build_matrix(frame, config.weights)
    if matrix.nnz == 0:
        raise ValueError(f"no usable events to train on for tenant {tenant!r}")
    t_matrix = time.perf_counter() - t0
    validation: dict[str, Any] = {}
    if config.model == "auto":
        split = validation_split(frame, config.weights, config.validation_days)
        result = search(
            split,
            config.families,
            method=config.search,
            n_trials=config.trials,
            metric=config.metric,
            k=config.k,
            progress=config.progress,
        )
        family, params = result.family, result.params
        validation = {"metrics": result.metrics, "trials": result.trials}
    else:
        if config.model not in FAMILIES:
            raise ValueError(f"unknown model {config.model!r}; choose auto or {sorted(FAMILIES)}")
        family, params = config.model, dict(config.params)
        if config.validate:
            validation = {"metrics": _validate_named(frame, config, family, params)}
    t_search = time.perf_counter() - t0 - t_matrix
    model: Recommender = FAMILIES[family](**params)
    t1 = time.perf_counter()
    model.fit(matrix)
    t_fit = time.perf_counter() - t1
    pop = Popularity().fit(matrix).popularity_
    seg = segment_popularity(matrix, customers, segments) if segments else None
    meta = {
        "fingerprint": data_fingerprint(matrix, items),
        "weights": config.weights.to_dict(),
        "n_customers": int(matrix.shape[0]),
        "n_events": len(frame),
        "n_interactions": int(matrix.nnz),
        "data_window": data_window(frame),
        "metrics": {"validation": validation.get("metrics", {})},
        "search": {
            "method": config.search if config.model == "auto" else "none",
            "trials": validation.get("trials", []),
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
