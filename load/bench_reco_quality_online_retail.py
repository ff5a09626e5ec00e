"""UCI Online Retail through the front door, temporal cross-sell protocol (:mod:`load.quality`).

The file is read as the README's import example reads it (``events.files.read_frame`` with its
``--map`` and ``--exclude-items``: cancellations are rejected, fees and postage excluded). The
purchases before 2011-11-09 go through ``events.ingest``; the default ``atelier train`` chooses
everything on their own validation slice; the service's answers are scored on 2011-11-09 ..
2011-12-09 (inclusive, the end of the data), only items new to each customer relevant. Beside
it, on the same split and offline: popularity, plain binary EASE λ=200 and implicit ALS.
Target: nDCG@10 >= 0.116.

Run: ``.venv/bin/python load/bench_reco_quality_online_retail.py [--budget S]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from events.files import FileMapping, ReadOptions, read_frame
from load.quality import baselines, report, served_metrics
from training.datasets import ONLINE_RETAIL_NON_PRODUCTS, shared_data_dir
from training.evaluate import parse_date

#: The README's ``atelier import events`` example.
MAPPING = (
    "customer_id=CustomerID,item_id=StockCode,quantity=Quantity,unit_price=UnitPrice,"
    "timestamp=InvoiceDate,context.invoice=InvoiceNo"
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=None, help="default: atelier train's")
    args = ap.parse_args()
    path = shared_data_dir() / "online-retail" / "online_retail.csv.gz"
    options = ReadOptions(exclude_items=ONLINE_RETAIL_NON_PRODUCTS)
    frame, stats = read_frame(path, FileMapping.parse(MAPPING), options)
    print(f"{path.name}: {stats.valid} events of {stats.rows} rows, {stats.excluded} excluded")
    cut, end = parse_date("2011-11-09"), parse_date("2011-12-10")
    ts = frame.timestamp
    train = ts < cut
    test = (ts >= cut) & (ts < end) & (frame.type == "purchase")
    served, meta, split = served_metrics(frame, train, np.asarray(test), None, args.budget)
    rows = baselines(split, 200.0)
    report("atelier train (default) -> API, Online Retail", served, meta, rows, 0.116)


if __name__ == "__main__":
    main()
