"""``atelier train`` end to end on Online Retail vs the bare model fit on the same matrix.

The cleaned Online Retail purchases are written to a Parquet file once; then the ``train``
command (argument parsing, reading the file, building the matrix, fitting, popularity, writing the
version folder) is timed in-process, and compared with ``model.fit(matrix)`` alone. The family and
parameters are fixed (``--model``/``--param``); ``--model auto`` adds the validation search, timed
separately with ``--auto``.

Run: ``.venv/bin/python load/bench_reco_train.py [--model ease --param l2=200] [--auto]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyarrow as pa
import pyarrow.parquet as pq

from cli.train import register
from recommender.interactions import InteractionWeights, build_matrix
from recommender.models import FAMILIES
from training.datasets import online_retail


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="ease")
    ap.add_argument("--param", action="append", default=None)
    ap.add_argument("--auto", action="store_true", help="also time --model auto")
    args = ap.parse_args()
    params = args.param if args.param is not None else ["l2=200"]
    frame = online_retail()
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "online_retail_clean.parquet"
    pq.write_table(
        pa.table(
            {
                "CustomerID": frame.customer_id.astype(str),
                "StockCode": frame.item_id.astype(str),
                "InvoiceDate": frame.timestamp.astype("int64"),
                "Quantity": frame.quantity,
                "Revenue": frame.value,
            }
        ),
        path,
    )

    def run_cli(model: str, extra: list[str]) -> float:
        parser = argparse.ArgumentParser()
        register(parser.add_subparsers())
        cli_args = parser.parse_args(
            [
                "train",
                "--tenant",
                "bench",
                "--events",
                str(path),
                "--artifacts",
                str(tmp / "m"),
                "--map",
                "customer_id=CustomerID,item_id=StockCode,timestamp=InvoiceDate,"
                "quantity=Quantity,value=Revenue",
                "--binary",
                "--model",
                model,
                "--no-progress",
                *extra,
            ]
        )
        t = time.perf_counter()
        cli_args.handler(cli_args)
        return time.perf_counter() - t

    fixed = [x for p in params for x in ("--param", p)]
    end_to_end = run_cli(args.model, fixed)
    matrix, _, _ = build_matrix(frame, InteractionWeights(binary=True))
    kw = {k: json.loads(v) for k, v in (p.split("=", 1) for p in params)}
    t = time.perf_counter()
    FAMILIES[args.model](**kw).fit(matrix)
    bare = time.perf_counter() - t
    print(
        f"\nOnline Retail: {matrix.shape[0]} customers x {matrix.shape[1]} items, "
        f"{matrix.nnz} cells, {len(frame)} events"
    )
    print(f"bare {args.model} fit {kw}: {bare:.2f} s")
    print(
        f"atelier train end to end: {end_to_end:.2f} s  ({end_to_end / bare:.2f}x the bare "
        f"fit; bar <= 1.5x: {'PASS' if end_to_end <= 1.5 * bare else 'FAIL'})"
    )
    if args.auto:
        print(
            f"atelier train --model auto (grid search on validation + refit): "
            f"{run_cli('auto', []):.1f} s"
        )


if __name__ == "__main__":
    main()
