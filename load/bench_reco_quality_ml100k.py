"""ML-100K through the front door: the training split sent through ``events.ingest``, the
default ``atelier train`` (``--model auto``), and the answers of ``RecommendationService`` scored.

Split: ``recommenders``' ``python_stratified_split`` (random 75/25 per user, seed 42),
reimplemented in :func:`training.evaluation.recommenders_stratified_split`. Training rows go in as
``rating`` events with their stars (``--as purchase``: as purchases). The search sees only the
training events; the test part is used once, to score. Beside it, on the same split and offline:
popularity, plain binary EASE λ=500, implicit ALS and the published BiVAE row.

Run: ``.venv/bin/python load/bench_reco_quality_ml100k.py [--as purchase] [--budget 90]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from core.records import Event, EventFrame
from events.ingest import ingest
from recommender.interactions import InteractionWeights
from recommender.models import ALS, EASE, Popularity
from recommender.service import RecommendationService
from store.embedded import SQLiteStore
from training.datasets import movielens_100k
from training.evaluation import (
    evaluate_model,
    format_table,
    ranking_metrics,
    recommenders_stratified_split,
    split_frame_masks,
)
from training.train import TrainConfig, read_meta, train_from_frame

BIVAE = {"map@10": 0.1461, "ndcg@10": 0.4751, "precision@10": 0.4118, "recall@10": 0.2191}


def served_metrics(
    frame: EventFrame, train: np.ndarray, test: np.ndarray, kind: str, budget: float
) -> tuple[dict, dict]:
    """Ingest the training rows, train with the defaults, score the service's answers."""
    tmp = Path(tempfile.mkdtemp())
    store = SQLiteStore(tmp / "atelier.sqlite3")
    part = frame.select(train)
    events = [
        Event(f"e{i}", c, kind, float(t), item_id=it, value=float(v) if kind == "rating" else None)
        for i, (c, it, t, v) in enumerate(
            zip(
                part.customer_id.tolist(),
                part.item_id.tolist(),
                part.timestamp.tolist(),
                part.value.tolist(),
                strict=True,
            )
        )
    ]
    for start in range(0, len(events), 10000):
        ingest(store, "ml", events[start : start + 10000])
    t = time.perf_counter()
    folder = train_from_frame(
        store.events_frame("ml"), TrainConfig(budget_s=budget, progress=False), tmp / "models", "ml"
    )
    train_s = time.perf_counter() - t
    store.publish_model("ml", folder.name, read_meta(folder).get("metrics", {}))
    service = RecommendationService(store, tmp / "models", cache_customers=0)
    service.start()
    while not service.ready():
        time.sleep(0.2)
    split = split_frame_masks(frame, train, test, InteractionWeights(binary=True))
    index = {item: j for j, item in enumerate(split.item_ids.tolist())}
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    recs = np.full((split.train.shape[0], 10), -1, dtype=np.int64)
    for u in users.tolist():
        answer = service.recommend("ml", str(split.customer_ids[u]), n=10)
        got = [index.get(i.item_id, -1) for i in answer.items][:10]
        recs[u, : len(got)] = got
    service.close()
    meta = read_meta(folder)
    meta["train_seconds"] = round(train_s, 1)
    return ranking_metrics(recs, split.test, k=10, n_items=split.train.shape[1]), meta


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--as", dest="kind", choices=("rating", "purchase"), default="rating")
    ap.add_argument("--budget", type=float, default=90.0)
    args = ap.parse_args()
    frame = movielens_100k()
    train, test = recommenders_stratified_split(frame.customer_id, 0.75, seed=42)
    served, meta = served_metrics(frame, train, test, args.kind, args.budget)
    split = split_frame_masks(frame, train, test, InteractionWeights(binary=True))
    rows = [
        (f"atelier train (default) -> API, {args.kind} events [{meta['family']}]", served),
        ("popularity", evaluate_model(Popularity().fit(split.train), split)),
        ("EASE binary l2=500", evaluate_model(EASE(l2=500.0).fit(split.train), split)),
        (
            "implicit ALS (64, reg 0.05, alpha 2)",
            evaluate_model(ALS(use_gpu=False).fit(split.train), split),
        ),
        ("BiVAE (published)", BIVAE),
    ]
    print(format_table(rows, ["precision@10", "recall@10", "ndcg@10", "map@10"]))
    print(f"\nchosen: {meta['family']} {meta['params']} weighting {meta['search']['weighting']}")
    print(f"validation: {meta['validation']}")
    print(f"train seconds (search + fit): {meta['train_seconds']}")
    ok = served["ndcg@10"] >= 0.49 and served["precision@10"] >= 0.42
    print(f"target nDCG@10 >= 0.49 and P@10 >= 0.42: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
