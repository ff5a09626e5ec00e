"""What the recommendation-quality benchmarks share: the product path, measured from outside.

Events go in through ``events.ingest`` (what ``POST /v1/events`` calls), the model is trained by
``train_from_frame`` with ``atelier train``'s defaults (``TrainConfig()``: ``--model auto``,
its budget), published, and the answers scored are those of ``RecommendationService`` (what the
API returns) for every customer with a relevant test item. The baselines beside it are fitted
offline on the same split.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from core.records import Event, EventFrame
from events.ingest import ingest
from recommender.interactions import InteractionWeights
from recommender.models import ALS, EASE, Popularity
from recommender.service import RecommendationService
from store.embedded import SQLiteStore
from training.evaluation import (
    Split,
    evaluate_model,
    format_table,
    ranking_metrics,
    split_frame_masks,
)
from training.train import TrainConfig, read_meta, train_from_frame

COLUMNS = ["precision@10", "recall@10", "ndcg@10", "map@10"]


def as_events(frame: EventFrame, kind: str | None = None) -> list[Event]:
    """The rows of ``frame`` as events (``kind`` replaces their type; a rating keeps its value,
    a purchase its quantity and value)."""
    out = []
    rows = zip(
        frame.customer_id.tolist(),
        frame.item_id.tolist(),
        frame.type.tolist(),
        frame.timestamp.tolist(),
        frame.quantity.tolist(),
        frame.value.tolist(),
        strict=True,
    )
    for i, (c, item, typ, ts, q, v) in enumerate(rows):
        t = kind or typ
        value = None if np.isnan(v) or (t != typ and t != "rating") else float(v)
        quantity = None if np.isnan(q) else float(q)
        out.append(Event(f"e{i}", c, t, float(ts), item_id=item, value=value, quantity=quantity))
    return out


def served_metrics(
    frame: EventFrame,
    train: np.ndarray,
    test: np.ndarray,
    kind: str | None = None,
    budget: float | None = None,
) -> tuple[dict[str, Any], dict[str, Any], Split]:
    """Ingest the training rows, train with the defaults, score the service's answers.

    Returns the metrics, the version's ``meta.json`` (with ``train_seconds``) and the offline
    split of the same rows (binary weights: the relevance and the baselines' matrix).
    """
    tmp = Path(tempfile.mkdtemp())
    store = SQLiteStore(tmp / "atelier.sqlite3")
    events = as_events(frame.select(train), kind)
    for start in range(0, len(events), 10000):
        ingest(store, "bench", events[start : start + 10000])
    config = TrainConfig(progress=False) if budget is None else TrainConfig(budget_s=budget)
    config.progress = False
    t = time.perf_counter()
    folder = train_from_frame(store.events_frame("bench"), config, tmp / "models", "bench")
    train_s = time.perf_counter() - t
    store.publish_model("bench", folder.name, read_meta(folder).get("metrics", {}))
    service = RecommendationService(store, tmp / "models", cache_customers=0)
    service.start()
    while not service.ready():
        time.sleep(0.2)
    split = split_frame_masks(frame, train, test, InteractionWeights(binary=True))
    index = {item: j for j, item in enumerate(split.item_ids.tolist())}
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    recs = np.full((split.train.shape[0], 10), -1, dtype=np.int64)
    for u in users.tolist():
        answer = service.recommend("bench", str(split.customer_ids[u]), n=10)
        got = [index.get(i.item_id, -1) for i in answer.items][:10]
        recs[u, : len(got)] = got
    service.close()
    store.close()
    meta = read_meta(folder)
    meta["train_seconds"] = round(train_s, 1)
    return ranking_metrics(recs, split.test, k=10, n_items=split.train.shape[1]), meta, split


def baselines(split: Split, ease_l2: float) -> list[tuple[str, dict[str, Any]]]:
    """Popularity, plain binary EASE at ``ease_l2`` and implicit ALS (its defaults here)."""
    return [
        ("popularity", evaluate_model(Popularity().fit(split.train), split)),
        (f"EASE binary l2={ease_l2:g}", evaluate_model(EASE(l2=ease_l2).fit(split.train), split)),
        (
            "implicit ALS (64, reg 0.05, alpha 2)",
            evaluate_model(ALS(use_gpu=False).fit(split.train), split),
        ),
    ]


def report(
    label: str,
    served: dict[str, Any],
    meta: dict[str, Any],
    rows: list[tuple[str, dict[str, Any]]],
    target: float,
) -> bool:
    """Print the table, what the search chose and the verdict against ``target`` nDCG@10."""
    first = (f"{label} [{meta['family']}]", served)
    print(format_table([first, *rows], COLUMNS))
    print(f"\nchosen: {meta['family']} {meta['params']} weighting {meta['search']['weighting']}")
    print(f"validation: {meta['validation']}")
    print(f"validation metrics: {meta['metrics']}")
    trials = sorted(meta["search"]["trials"], key=lambda t: -t["metrics"]["ndcg@10"])
    print(f"{len(trials)} trials, {len(meta['search']['skipped'])} skipped; the best five:")
    for t in trials[:5]:
        print(f"  {t['metrics']['ndcg@10']:.4f} {t['family']} {t['params']} [{t['weighting']}]")
    print(f"train seconds (search + fit): {meta['train_seconds']}")
    ok = served["ndcg@10"] >= target
    print(f"target nDCG@10 >= {target}: {'PASS' if ok else 'FAIL'} ({served['ndcg@10']:.4f})")
    return ok
