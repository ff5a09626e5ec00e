"""Training from an export larger than the reader's old per-row path could hold: time and memory.

Writes a synthetic Parquet export (``--events`` rows, string customer and item ids, Zipf item
popularity, views / carts / purchases over a year), then runs each stage in a fresh process and
reports its wall time and the process's peak resident memory (``ru_maxrss``):

* ``read``: ``events.files.read_frame`` (what ``atelier train --events`` reads: streaming
  batches, vectorised validation, codes);
* ``matrix``: the read plus ``build_matrix`` (the training matrix);
* ``als`` / ``itemknn``: the read, the matrix and ``train_from_frame`` with that family's
  defaults (``atelier train --events FILE --model als``), artifacts written to a temp folder.

Run: ``.venv/bin/python load/bench_train_stream.py --events 10000000 [--stages read,matrix,als]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MAP = "customer_id=customer,item_id=sku,type=kind,quantity=qty,value=amount,timestamp=at"


def write_export(path: Path, n: int, customers: int, items: int, seed: int = 7) -> None:
    """``n`` synthetic events in row groups of 1M (written as they are drawn)."""
    rng = np.random.default_rng(seed)
    start = 1.7e9
    kinds = np.array(["view", "add_to_cart", "purchase"])
    with pq.ParquetWriter(path, _schema()) as writer:
        for begin in range(0, n, 1_000_000):
            m = min(1_000_000, n - begin)
            cust = rng.integers(0, customers, m)
            item = np.minimum(rng.zipf(1.3, m) - 1, items - 1)
            kind = kinds[rng.choice(3, m, p=[0.7, 0.2, 0.1])]
            table = pa.table(
                {
                    "customer": pa.array(np.char.add("cust-", cust.astype(str))),
                    "sku": pa.array(np.char.add("sku-", item.astype(str))),
                    "kind": pa.array(kind),
                    "qty": pa.array(rng.integers(1, 4, m).astype(np.float64)),
                    "amount": pa.array(np.round(rng.uniform(1, 200, m), 2)),
                    "at": pa.array(
                        ((start + rng.uniform(0, 365 * 86400, m)) * 1e6).astype("int64"),
                        pa.timestamp("us", tz="UTC"),
                    ),
                },
                schema=_schema(),
            )
            writer.write_table(table)


def _schema() -> pa.Schema:
    return pa.schema(
        [
            ("customer", pa.string()),
            ("sku", pa.string()),
            ("kind", pa.string()),
            ("qty", pa.float64()),
            ("amount", pa.float64()),
            ("at", pa.timestamp("us", tz="UTC")),
        ]
    )


def stage(name: str, path: Path) -> dict[str, object]:
    """Run one stage in this process; its figures."""
    from events.files import FileMapping, read_frame
    from recommender.interactions import InteractionWeights, build_matrix
    from training.train import TrainConfig, train_from_frame

    t0 = time.perf_counter()
    frame, stats = read_frame(path, FileMapping.parse(MAP))
    out: dict[str, object] = {"stage": name, "rows": stats.rows, "valid": stats.valid}
    out["read_s"] = round(time.perf_counter() - t0, 1)
    if name == "matrix":
        t1 = time.perf_counter()
        m, cust, items = build_matrix(frame, InteractionWeights())
        out.update(
            matrix_s=round(time.perf_counter() - t1, 1),
            customers=len(cust),
            items=len(items),
            nnz=int(m.nnz),
        )
    elif name in ("als", "itemknn"):
        t1 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            folder = train_from_frame(frame, TrainConfig(model=name, progress=False), tmp, "bench")
            meta = json.loads((folder / "meta.json").read_text())
        out.update(
            train_s=round(time.perf_counter() - t1, 1),
            seconds=meta["seconds"],
            customers=meta["n_customers"],
            items=meta["n_items"],
            nnz=meta["n_interactions"],
        )
    out["total_s"] = round(time.perf_counter() - t0, 1)
    out["peak_rss_gib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--stages", default="read,matrix,als,itemknn")
    ap.add_argument("--file", type=Path, help="reuse (or keep) the export here")
    ap.add_argument("--stage", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, args.file)))
        return
    tmp = tempfile.TemporaryDirectory()
    path = args.file or Path(tmp.name) / "export.parquet"
    if not path.exists():
        t0 = time.perf_counter()
        write_export(path, args.events, args.customers, args.items)
        size = path.stat().st_size / 2**20
        print(f"wrote {args.events:,} events ({size:.0f} MiB) in {time.perf_counter() - t0:.0f} s")
    for name in args.stages.split(","):
        run = subprocess.run(
            [sys.executable, __file__, "--stage", name, "--file", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        print(run.stdout.strip() or run.stderr.strip()[-2000:], flush=True)
    tmp.cleanup()


if __name__ == "__main__":
    main()
