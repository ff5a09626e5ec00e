"""Event-file reader on Online Retail: what each stage of ``events.files`` costs per row.

Stages, each timed on the whole file (541,909 lines) and reported as the median of ``--repeat``
runs with its ratio to the first one (the baseline measured in the same run):

* ``read + parse cells``: the Arrow read and the vectorised cell parsing (the floor);
* ``read_events``: the importer's path (one event dict per row, the file conventions, the
  content ids, every row validated as ``POST /v1/events`` does);
* ``read_frame``: the ``train --events`` path (no ids, an :class:`EventFrame`).

Run: ``.venv/bin/python load/bench_event_files.py [--repeat 3]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from events.columns import numbers, text, timestamps
from events.files import FileMapping, ReadOptions, iter_batches, read_events, read_frame
from training.datasets import shared_data_dir

MAP = (
    "customer_id=CustomerID,item_id=StockCode,quantity=Quantity,unit_price=UnitPrice,"
    "timestamp=InvoiceDate,context.invoice=InvoiceNo"
)

#: How ``events.files`` parses each mapped column of the file.
PARSE = {
    "CustomerID": text,
    "StockCode": text,
    "Quantity": numbers,
    "UnitPrice": numbers,
    "InvoiceDate": timestamps,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = shared_data_dir() / "online-retail" / "online_retail.csv.gz"
    mapping = FileMapping.parse(MAP)
    options = ReadOptions(negative_as_return=True)

    def cells() -> int:
        n = 0
        for batch in iter_batches(path, mapping.columns):
            for column, parse in PARSE.items():
                parse(batch.column(column))
            n += batch.num_rows
        return n

    def events() -> int:
        return sum(b.rows for b in read_events(path, mapping, options, tenant="bench"))

    def frame() -> int:
        return read_frame(path, mapping, options)[1].rows

    stages: list[tuple[str, Callable[[], int]]] = [
        ("read + parse cells", cells),
        ("read_events", events),
        ("read_frame", frame),
    ]
    base = None
    print(f"{'stage':<22}{'seconds':>9}{'rows/s':>12}{'ratio':>8}")
    for name, run in stages:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            n = run()
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        base = base or median
        print(f"{name:<22}{median:>9.2f}{n / median:>12,.0f}{median / base:>8.1f}")


if __name__ == "__main__":
    main()
