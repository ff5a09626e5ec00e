"""Training and evaluation jobs behind ``atelier train`` and ``atelier evaluate``.

Examples
--------
>>> import tempfile
>>> from store.records import Event, EventFrame
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
import pyarrow as pa
import pyarrow.compute as pc

from store.records import EventFrame
from training.artifacts import data_fingerprint, read_meta, save_version
from training.evaluation import (
    Split,
    evaluate_model,
    format_table,
    ms_protocol_split,
    save_json,
    temporal_split,
)
from training.interactions import InteractionWeights, build_matrix
from training.models import FAMILIES, Popularity, Recommender
from training.tuning import AUTO_FAMILIES, search, validation_split

__all__ = ["TrainConfig", "evaluate_command", "frame_from_file", "read_meta",
           "train_from_frame"]


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


def train_from_frame(
    frame: EventFrame,
    config: TrainConfig,
    artifacts_root: str | Path,
    tenant: str,
    segments: Mapping[str, str] | None = None,
) -> Path:
    """Build the matrix, choose/fit the model, write a new version folder and return it.

    ``segments`` maps customer ids to a segment label (from their attributes) for segment-level
    cold-start popularity. Timings (``seconds.matrix/search/fit/total``) go into ``meta.json``.
    """
    t0 = time.perf_counter()
    matrix, customers, items = build_matrix(frame, config.weights)
    if matrix.nnz == 0:
        raise ValueError(f"no usable events to train on for tenant {tenant!r}")
    t_matrix = time.perf_counter() - t0
    validation: dict[str, Any] = {}
    if config.model == "auto":
        split = validation_split(frame, config.weights, config.validation_days)
        result = search(split, config.families, method=config.search, n_trials=config.trials,
                        metric=config.metric, k=config.k, progress=config.progress)
        family, params = result.family, result.params
        validation = {"metrics": result.metrics, "trials": result.trials}
    else:
        if config.model not in FAMILIES:
            raise ValueError(f"unknown model {config.model!r}; choose auto or {sorted(FAMILIES)}")
        family, params = config.model, dict(config.params)
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
        "metrics": {"validation": validation.get("metrics", {})},
        "search": {"method": config.search if config.model == "auto" else "none",
                   "trials": validation.get("trials", [])},
        "seconds": {"matrix": round(t_matrix, 3), "search": round(t_search, 3),
                    "fit": round(t_fit, 3)},
    }
    folder = save_version(artifacts_root, tenant, model, items, meta, segments=seg,
                          popularity=pop)
    total = time.perf_counter() - t0
    full = read_meta(folder)
    full["seconds"]["total"] = round(total, 3)
    (folder / "meta.json").write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
    return folder


# ---------------------------------------------------------------------------- files
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%m/%d/%Y %H:%M",
                 "%Y-%m-%dT%H:%M:%SZ")


def _timestamps(col: pa.Array) -> np.ndarray:
    """POSIX seconds from numbers or the usual date formats (UTC)."""
    num = pc.cast(col, pa.float64(), safe=False) if pa.types.is_floating(col.type) else None
    if num is None:
        try:
            num = pc.cast(col, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            num = None
    if num is not None:
        return np.asarray(num.to_numpy(zero_copy_only=False), dtype=np.float64)
    for fmt in _TIME_FORMATS:
        try:
            parsed = pc.strptime(col, format=fmt, unit="s", error_is_null=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return np.asarray(pc.cast(parsed, pa.int64()).to_numpy(zero_copy_only=False),
                          dtype=np.float64)
    raise ValueError(f"cannot parse timestamps such as {col[0]!r}; use ISO 8601 or POSIX seconds")


def frame_from_file(path: str | Path, mapping: Mapping[str, str],
                    default_type: str = "purchase") -> EventFrame:
    """Events of a CSV / gzip CSV / Parquet file as an :class:`EventFrame` (vectorised).

    ``mapping`` maps event fields (``customer_id``, ``item_id``, ``type``, ``timestamp``,
    ``quantity``, ``value``, ``unit_price``) to column names; unmapped ``type`` is
    ``default_type``; ``unit_price`` gives ``value = quantity * unit_price``.
    """
    from training.files import iter_batches

    columns = list(dict.fromkeys(mapping.values()))
    frames = []
    for batch in iter_batches(Path(path), columns):
        n = batch.num_rows

        def col(name: str, batch: pa.RecordBatch = batch) -> pa.Array | None:
            return batch.column(mapping[name]) if name in mapping else None

        def num(name: str, n: int = n) -> np.ndarray:
            c = col(name)
            if c is None:
                return np.full(n, np.nan)
            return np.asarray(pc.cast(c, pa.float64()).to_numpy(zero_copy_only=False),
                              dtype=np.float64)

        def text(name: str, default: str, n: int = n) -> np.ndarray:
            c = col(name)
            if c is None:
                return np.full(n, default, dtype=object)
            return np.array(pc.fill_null(pc.cast(c, pa.string()), "").to_pylist(), dtype=object)

        qty = num("quantity")
        value = num("value")
        if "unit_price" in mapping and "value" not in mapping:
            value = np.where(np.isnan(qty), 1.0, np.abs(qty)) * num("unit_price")
        ts_col = col("timestamp")
        ts = _timestamps(ts_col) if ts_col is not None else np.zeros(n)
        frames.append(EventFrame(text("customer_id", ""), text("item_id", ""),
                                 text("type", default_type), ts, qty, value))
    frame = EventFrame.concat(frames)
    return frame.select(frame.customer_id != "")


# ---------------------------------------------------------------------------- evaluation
def parse_date(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def evaluate_command(
    frame: EventFrame,
    protocol: str,
    families: Sequence[str],
    weights: InteractionWeights,
    *,
    cut: float | None = None,
    end: float | None = None,
    k: int = 10,
    validation_days: float = 30.0,
    search_method: str = "grid",
    trials: int = 20,
    out: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Tune each family on a validation slice of the training part, test once, print a table.

    ``protocol`` is ``"temporal"`` (train before ``cut``, test in ``[cut, end)``, validation =
    the last ``validation_days`` before ``cut``) or ``"ms"`` (Microsoft Recommenders' random
    75/25 split per item, seed 42; validation = the same split of the training part, seed 7).
    ``families`` may include ``"auto"``: the family chosen on validation.
    """
    if protocol == "temporal":
        if cut is None:
            raise ValueError("the temporal protocol needs a cut date")
        test_split = temporal_split(frame, cut, end, weights)
        before = frame.select(frame.timestamp < cut)
        val_split = temporal_split(before, cut - validation_days * 86400.0, cut, weights)
    elif protocol == "ms":
        from training.evaluation import ms_stratified_split, split_frame_masks

        test_split = ms_protocol_split(frame, weights)
        train_mask, _ = ms_stratified_split(frame.customer_id, frame.item_id, 0.75, 42)
        part = frame.select(train_mask)
        vtr, vte = ms_stratified_split(part.customer_id, part.item_id, 0.75, 7)
        val_split = split_frame_masks(part, vtr, vte, weights)
    else:
        raise ValueError(f"protocol must be 'temporal' or 'ms', not {protocol!r}")
    results: dict[str, Any] = {}
    for fam in families:
        pool = AUTO_FAMILIES if fam == "auto" else [fam]
        chosen = search(val_split, pool, method=search_method, n_trials=trials,
                        metric=f"ndcg@{k}", k=k, progress=progress)
        results[fam] = _test(test_split, chosen.family, chosen.params, k)
        results[fam]["validation"] = chosen.metrics
    columns = [f"precision@{k}", f"recall@{k}", f"ndcg@{k}", f"map@{k}", f"hit_rate@{k}",
               "coverage"]
    print(format_table([(name, r["test"]) for name, r in results.items()], columns))
    payload = {"protocol": protocol, "k": k, "cut": cut, "end": end,
               "weights": weights.to_dict(), "results": results}
    if out is not None:
        save_json(out, payload)
    return payload


def _test(split: Split, family: str, params: dict[str, Any], k: int) -> dict[str, Any]:
    t = time.perf_counter()
    model = FAMILIES[family](**params).fit(split.train)
    fit_s = time.perf_counter() - t
    return {"family": family, "params": params, "fit_seconds": round(fit_s, 3),
            "test": evaluate_model(model, split, k=k)}
