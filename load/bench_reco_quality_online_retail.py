"""UCI Online Retail, temporal cross-sell protocol.

Cleaned as ``../shared/data/README.md`` says (``training.datasets.online_retail``). Train on
purchases before 2011-11-09; test on 2011-11-09 .. 2011-12-09 (inclusive, the end of the data);
only items new to each customer are relevant. Purchases decay with a 60-day half-life. Each family is tuned on the earlier validation
slice (train before 2011-10-10, validate 2011-10-10 .. 2011-11-08), never on the test month.

Run: ``.venv/bin/python load/bench_reco_quality_online_retail.py [--out results.json]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recommender.interactions import InteractionWeights
from training.datasets import online_retail
from training.evaluate import evaluate_command, parse_date

#: Chosen on the validation slice (EASE l2=200: nDCG@10 0.0938 binary, 0.1002 with a 60-day
#: half-life and each cell capped at 1, 0.0686 with log quantities), never on the test month.
WEIGHTS = InteractionWeights(type_weights={"purchase": 1.0}, max_weight=1.0, half_life_days=60.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--models", default="popularity,itemknn,als,ease,auto")
    args = ap.parse_args()
    payload = evaluate_command(
        online_retail(),
        "temporal",
        args.models.split(","),
        WEIGHTS,
        cut=parse_date("2011-11-09"),
        end=parse_date("2011-12-10"),
        k=10,
        validation_days=30.0,
        out=args.out,
        progress=False,
    )
    res = payload["results"]
    for name, r in res.items():
        print(
            f"{name:12s} chose {r['family']} {r['params']} (validation nDCG@10 "
            f"{r['validation']['ndcg@10']:.4f})"
        )
    if "auto" in res and "popularity" in res:
        ratio = res["auto"]["test"]["ndcg@10"] / max(res["popularity"]["test"]["ndcg@10"], 1e-9)
        print(
            f"\nchosen/popularity nDCG@10 = {ratio:.2f}x (bar >= 3x): "
            f"{'PASS' if ratio >= 3 else 'FAIL'}; aim nDCG@10 >= 0.11: "
            f"{res['auto']['test']['ndcg@10']:.4f}"
        )


if __name__ == "__main__":
    main()
