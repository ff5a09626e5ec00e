"""MovieLens through the front door: the training split sent through ``events.ingest``, the
default ``atelier train`` (``--model auto``), and the answers of ``RecommendationService`` scored
(:mod:`load.quality`).

Split: ``recommenders``' ``python_stratified_split`` (random 75/25 per item, seed 42, the
protocol of issue 11 and of ``atelier evaluate --dataset ml-100k``), reimplemented in
:func:`training.evaluation.stratified_split`. Training rows go in as
``rating`` events with their stars (``--as purchase``: as purchases). The search sees only the
training events; the test part is used once, to score. Beside it, on the same split and offline:
popularity, plain binary EASE (λ=500 on ML-100K, 200 on latest-small), implicit ALS and, on
ML-100K, the published BiVAE row. Targets: ML-100K nDCG@10 >= 0.49 and P@10 >= 0.42;
latest-small nDCG@10 >= 0.42.

Run: ``.venv/bin/python load/bench_reco_quality_ml100k.py [--dataset ml-latest-small]
[--as purchase] [--budget S]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load.quality import baselines, report, served_metrics
from training.datasets import movielens_100k, movielens_latest_small
from training.evaluation import stratified_split

BIVAE = {"map@10": 0.1461, "ndcg@10": 0.4751, "precision@10": 0.4118, "recall@10": 0.2191}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", choices=("ml-100k", "ml-latest-small"), default="ml-100k")
    ap.add_argument("--as", dest="kind", choices=("rating", "purchase"), default="rating")
    ap.add_argument("--budget", type=float, default=None, help="default: atelier train's")
    args = ap.parse_args()
    small = args.dataset == "ml-latest-small"
    frame = movielens_latest_small() if small else movielens_100k()
    train, test = stratified_split(frame.item_id, 0.75, seed=42)
    served, meta, split = served_metrics(frame, train, test, args.kind, args.budget)
    rows = baselines(split, 200.0 if small else 500.0)
    if not small:
        rows.append(("BiVAE (published)", BIVAE))
    label = f"atelier train (default) -> API, {args.dataset} as {args.kind} events"
    ok = report(label, served, meta, rows, 0.42 if small else 0.49)
    if not small:
        p_ok = served["precision@10"] >= 0.42
        print(f"target P@10 >= 0.42: {'PASS' if p_ok else 'FAIL'}; both: {ok and p_ok}")


if __name__ == "__main__":
    main()
