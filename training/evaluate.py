"""The evaluation job behind ``atelier evaluate``: each family chosen by ``atelier train``'s own
search on the training part only, tested once on a held-out period (temporal) or split
(Microsoft Recommenders' protocol).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from core.records import EventFrame
from recommender.interactions import InteractionWeights
from training.evaluation import (
    evaluate_model,
    format_table,
    save_json,
    split_frame_masks,
    stratified_split,
)
from training.train import TrainConfig, choose
from training.tuning import AUTO_FAMILIES, fit_family


def parse_date(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def protocol_masks(
    frame: EventFrame, protocol: str, cut: float | None = None, end: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) event masks: ``"temporal"`` trains before ``cut`` and tests the purchases
    in ``[cut, end)``; ``"ms"`` is Microsoft Recommenders' random 75/25 split per item, seed 42."""
    if protocol == "temporal":
        if cut is None:
            raise ValueError("the temporal protocol needs a cut date")
        ts = frame.timestamp
        test = (ts >= cut) & (ts < end if end is not None else True)
        return ts < cut, test & (frame.type.astype(str) == "purchase")
    if protocol == "ms":
        return stratified_split(frame.item_id, 0.75, seed=42)
    raise ValueError(f"protocol must be 'temporal' or 'ms', not {protocol!r}")


def evaluate_command(
    frame: EventFrame,
    protocol: str,
    families: Sequence[str],
    weights: InteractionWeights | None,
    *,
    cut: float | None = None,
    end: float | None = None,
    k: int = 10,
    validation_days: float = 30.0,
    search_method: str = "grid",
    trials: int = 20,
    budget_s: float = 90.0,
    out: str | Path | None = None,
    progress: bool = True,
    table: bool = True,
) -> dict[str, Any]:
    """Choose each family on the training part, test once, print a table (unless ``table``
    is false: ``atelier evaluate --json`` prints the returned document instead).

    The choice is :func:`training.train.choose`, the search of ``atelier train``: on the
    validation plan of the training part (its last ``validation_days``, or a per-customer
    holdout when those are too thin), with the weighting searched unless ``weights`` is given.
    ``families`` may include ``"auto"``: the default search over every family.
    """
    train_mask, test_mask = protocol_masks(frame, protocol, cut, end)
    part = frame.select(train_mask)
    base = TrainConfig(
        weights=weights or InteractionWeights(),
        search_weights=weights is None,
        search=search_method,
        trials=trials,
        validation_days=validation_days,
        budget_s=budget_s,
        metric=f"ndcg@{k}",
        k=k,
        progress=progress,
    )
    results: dict[str, Any] = {}
    for fam in families:
        config = replace(base, families=AUTO_FAMILIES if fam == "auto" else (fam,))
        validation, chosen, family, params, _ = choose(part, config)
        split = split_frame_masks(frame, train_mask, test_mask, chosen)
        t = time.perf_counter()
        model = fit_family(family, params, split.fit_rows)
        results[fam] = {
            "family": family,
            "params": params,
            "weights": chosen.to_dict(),
            "weighting": validation["weighting"],
            "fit_seconds": round(time.perf_counter() - t, 3),
            "test": evaluate_model(model, split, k=k),
            "validation": validation["metrics"],
            "validation_plan": validation["plan"],
        }
    columns = [
        f"precision@{k}",
        f"recall@{k}",
        f"ndcg@{k}",
        f"map@{k}",
        f"hit_rate@{k}",
        "coverage",
    ]
    if table:
        print(format_table([(name, r["test"]) for name, r in results.items()], columns))
    payload = {"protocol": protocol, "k": k, "cut": cut, "end": end, "results": results}
    if out is not None:
        save_json(out, payload)
    return payload
