"""Training cost per family as the catalog grows, and ``auto`` on a 20k-item tenant.

Synthetic power-law data (:func:`power_law_events`: item popularity Zipf-like with exponent
1.1, five purchases per item, twenty per customer) at 5k, 20k, 50k and 200k items. Each
(family, size) is fitted in a fresh subprocess so that its peak resident memory
(``ru_maxrss``) is its own. The dense families (EASE, DLAE) are fitted whole only where its ``n x n`` matrices fit
this shared machine (5k); above, on the head the search's cost model affords
(``training.tuning.dense_head``), and not at all above ``EASE_MAX_ITEMS`` (the search skips it
there too). Then ``--auto``: 100,000 purchases on 20,000 items through ``events.ingest`` and
the default ``atelier train`` (search + refit), wall time and peak memory; ``--auto-items
200000`` times the same on a million purchases.

Run: ``nice -n 5 .venv/bin/python load/bench_reco_scale.py [--sizes 5000,20000] [--no-auto]
[--auto-items N]``
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from core.records import EventFrame

ROOT = Path(__file__).resolve().parent.parent
FAMILIES: dict[str, dict[str, Any]] = {
    "popularity": {},
    "itemknn": {"kind": "bm25", "K": 100},
    "als": {"factors": 64, "iterations": 15, "use_gpu": "auto"},
    "ease": {"l2": 200.0},
    "dlae": {"l2": 200.0, "dropout": 0.33},
}


def power_law_events(
    n_items: int, per_item: int = 5, per_customer: int = 20, seed: int = 0
) -> EventFrame:
    """A purchase frame: ``per_item * n_items`` events, item popularity ~ rank^-1.1."""
    rng = np.random.default_rng(seed)
    n = per_item * n_items
    p = 1.0 / np.arange(1, n_items + 1) ** 1.1
    items = rng.choice(n_items, size=n, p=p / p.sum())
    customers = rng.integers(0, max(1, n // per_customer), size=n)
    ts = 1.7e9 + np.sort(rng.uniform(0, 180 * 86400.0, size=n))
    return EventFrame(
        customer_id=np.array([f"c{c}" for c in customers], dtype=object),
        item_id=np.array([f"i{i}" for i in items], dtype=object),
        type=np.full(n, "purchase", dtype=object),
        timestamp=ts,
        quantity=np.full(n, np.nan),
        value=np.full(n, np.nan),
    )


def _child(family: str, n_items: int) -> None:
    """In the subprocess: build the matrix, fit once, print seconds and peak memory."""
    from recommender.interactions import InteractionWeights, build_matrix
    from recommender.models import FAMILIES as CLASSES
    from training.tuning import EASE_MAX_ITEMS, dense_head

    matrix, _, _ = build_matrix(power_law_events(n_items), InteractionWeights(binary=True))
    params: dict[str, Any] = dict(FAMILIES[family])
    note = ""
    if family in ("ease", "dlae"):
        if n_items > EASE_MAX_ITEMS:
            print(json.dumps({"skipped": f"{n_items} items > EASE_MAX_ITEMS {EASE_MAX_ITEMS}"}))
            return
        head = None if n_items <= 5000 else dense_head(n_items, 90.0 / 15.0)
        params["head"] = head
        note = "whole" if head is None else f"head {head}"
    start = time.perf_counter()
    CLASSES[family](**params).fit(matrix)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"seconds": round(seconds, 2), "peak_mib": round(peak), "note": note}))


def _auto(n_items: int) -> dict[str, Any]:
    """Five purchases per item through ingest, then the default train (in this process)."""
    from load.quality import as_events
    from store.embedded import SQLiteStore
    from training.train import TrainConfig, read_meta, train_from_frame

    tmp = Path(tempfile.mkdtemp())
    store = SQLiteStore(tmp / "atelier.sqlite3")
    from events.ingest import ingest

    events = as_events(power_law_events(n_items))
    for first in range(0, len(events), 10000):
        ingest(store, "big", events[first : first + 10000])
    frame = store.events_frame("big")
    t0 = time.perf_counter()
    folder = train_from_frame(frame, TrainConfig(progress=False), tmp / "models", "big")
    wall = time.perf_counter() - t0
    meta = read_meta(folder)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "events": len(frame),
        "wall_s": round(wall, 1),
        "search_s": meta["seconds"]["search"],
        "peak_mib": round(peak),
        "chosen": f"{meta['family']} [{meta['search']['weighting']}]",
        "trials": len(meta["search"]["trials"]),
        "skipped": len(meta["search"]["skipped"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000,20000,50000,200000")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--no-auto", action="store_true")
    ap.add_argument("--auto-items", type=int, default=20000, help="catalog size of the auto run")
    ap.add_argument("--child", nargs=2, metavar=("FAMILY", "ITEMS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return
    print(f"{'items':>8} {'events':>8} {'family':>10} {'fit s':>8} {'peak MiB':>9}  note")
    for n in [int(s) for s in args.sizes.split(",")]:
        for family in args.families.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--child", family, str(n)],
                capture_output=True,
                text=True,
                cwd=ROOT,
            )
            lines = out.stdout.strip().splitlines()
            if out.returncode != 0 or not lines:
                print(f"{n:>8} {5 * n:>8} {family:>10} failed: {out.stderr.strip()[-200:]}")
                continue
            r = json.loads(lines[-1])
            if "skipped" in r:
                print(f"{n:>8} {5 * n:>8} {family:>10} {'-':>8} {'-':>9}  {r['skipped']}")
            else:
                print(
                    f"{n:>8} {5 * n:>8} {family:>10} {r['seconds']:>8} {r['peak_mib']:>9}  "
                    f"{r['note']}",
                    flush=True,
                )
    if not args.no_auto:
        r = _auto(args.auto_items)
        print(f"\natelier train (auto) on {args.auto_items:,} items / {r['events']} events: {r}")
        if args.auto_items == 20000:
            print(f"bar < 120 s wall: {'PASS' if float(r['wall_s']) < 120 else 'FAIL'}")


if __name__ == "__main__":
    main()
