"""The evaluation job behind ``atelier evaluate``: tune each family on the training part only,
test once on a held-out period (temporal) or split (Microsoft Recommenders' protocol).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.records import EventFrame
from recommender.interactions import InteractionWeights
from training.evaluation import (
    Split,
    evaluate_model,
    format_table,
    ms_protocol_split,
    save_json,
    temporal_split,
)
from training.tuning import AUTO_FAMILIES, fit_family, search


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
        chosen = search(
            val_split,
            pool,
            method=search_method,
            n_trials=trials,
            metric=f"ndcg@{k}",
            k=k,
            progress=progress,
        )
        results[fam] = _test(test_split, chosen.family, chosen.params, k)
        results[fam]["validation"] = chosen.metrics
    columns = [
        f"precision@{k}",
        f"recall@{k}",
        f"ndcg@{k}",
        f"map@{k}",
        f"hit_rate@{k}",
        "coverage",
    ]
    print(format_table([(name, r["test"]) for name, r in results.items()], columns))
    payload = {
        "protocol": protocol,
        "k": k,
        "cut": cut,
        "end": end,
        "weights": weights.to_dict(),
        "results": results,
    }
    if out is not None:
        save_json(out, payload)
    return payload


def _test(split: Split, family: str, params: dict[str, Any], k: int) -> dict[str, Any]:
    t = time.perf_counter()
    model = fit_family(family, params, split.train)
    fit_s = time.perf_counter() - t
    return {
        "family": family,
        "params": params,
        "fit_seconds": round(fit_s, 3),
        "test": evaluate_model(model, split, k=k),
    }
