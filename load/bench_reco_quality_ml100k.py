"""ML-100K under Microsoft Recommenders' protocol, beside the published rows.

Protocol: random 75/25 split stratified per item (seed 42), top-10, seen items removed, binary
relevance. Every family is tuned on a validation split of the *training* part only (the same
stratified split of the 75%, seed 7), then refitted on the 75% and tested once. Interactions are
binary (every rating is a positive), as the relevance is.

Run: ``.venv/bin/python load/bench_reco_quality_ml100k.py [--out results.json]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommender.interactions import InteractionWeights
from training.datasets import movielens_100k
from training.evaluate import evaluate_command
from training.evaluation import format_table

PUBLISHED = {
    "BiVAE (published)": {
        "map@10": 0.1461,
        "ndcg@10": 0.4751,
        "precision@10": 0.4118,
        "recall@10": 0.2191,
    },
    "BPR cornac (published)": {
        "map@10": 0.1325,
        "ndcg@10": 0.4420,
        "precision@10": 0.3882,
        "recall@10": 0.2125,
    },
    "SAR (published)": {
        "map@10": 0.1106,
        "ndcg@10": 0.3825,
        "precision@10": 0.3308,
        "recall@10": 0.1764,
    },
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--models", default="popularity,itemknn,als,ease,auto")
    args = ap.parse_args()
    payload = evaluate_command(
        movielens_100k(),
        "ms",
        args.models.split(","),
        InteractionWeights(binary=True),
        k=10,
        out=args.out,
        progress=False,
    )
    rows = [
        (f"{name} [{r['family']} {r['params']}]"[:70], r["test"])
        for name, r in payload["results"].items()
    ]
    rows += list(PUBLISHED.items())
    print()
    print(format_table(rows, ["map@10", "ndcg@10", "precision@10", "recall@10"]))
    auto = payload["results"].get("auto", {}).get("test", {})
    if auto:
        ok = auto["ndcg@10"] >= 0.48 and auto["precision@10"] >= 0.415
        print(f"\nbar nDCG@10 >= 0.48 and P@10 >= 0.415 (auto): {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
