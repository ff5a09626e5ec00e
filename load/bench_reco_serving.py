"""Serving benchmark for a 50k-item catalog: recommendations against /healthz over HTTP.

Builds a synthetic tenant (50,000 items in 50 categories, 20,000 customers whose purchases
cluster by taste, about 25 events each), trains and publishes an ALS model through the CLI, then
runs ``load/bench_http.py recommend --alone --half-load``: throughput of
``GET /v1/customers/{id}/recommendations`` and of ``GET /healthz`` each alone at saturation on
the same server configuration, then the recommendations at half that load for latency.

    python load/bench_reco_serving.py [--items 50000] [--customers 20000] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recommender.history import weigh_events  # noqa: E402
from store.embedded import SQLiteStore  # noqa: E402
from store.records import Event, Item  # noqa: E402


def build(data_dir: Path, n_items: int, n_customers: int, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    store = SQLiteStore(data_dir / "atelier.sqlite3")
    tenant = "bench"
    store.ensure_tenant(tenant)
    n_clusters = max(1, n_items // 100)
    items = [Item(f"item-{i:06d}", title=f"Item {i}", category=f"cat-{i % 50}",
                  price=float(5 + i % 200), attributes={"cluster": i // 100})
             for i in range(n_items)]
    for start in range(0, n_items, 10_000):
        store.upsert_items(tenant, items[start:start + 10_000])
    zipf = 1.0 / np.arange(1, 101) ** 0.8
    zipf /= zipf.sum()
    t0 = time.time() - 300 * 86400
    batch: list[Event] = []
    n = 0
    for c in range(n_customers):
        tastes = rng.choice(n_clusters, size=int(rng.integers(1, 3)), replace=False)
        for _ in range(int(rng.integers(10, 40))):
            cluster = int(rng.choice(tastes))
            item = cluster * 100 + int(rng.choice(100, p=zipf))
            kind = "purchase" if rng.random() < 0.4 else "view"
            n += 1
            batch.append(Event(f"b{n}", f"cust-{c:06d}", kind, t0 + float(rng.uniform(0, 3e7)),
                               item_id=f"item-{item:06d}"))
        if len(batch) >= 20_000:
            store.add_events(tenant, batch, weigh_events(batch).tolist())
            batch = []
    if batch:
        store.add_events(tenant, batch, weigh_events(batch).tolist())
    print(f"tenant bench: {n_items} items, {n_customers} customers, {n} events")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--factors", type=int, default=64)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="atelier-serving-"))
    build(data_dir, args.items, args.customers)
    env = {**os.environ, "ATELIER_DATA_DIR": str(data_dir), "ATELIER_STORE": "embedded",
           "OPENBLAS_NUM_THREADS": "1"}
    bin_dir = Path(sys.executable).parent
    started = time.perf_counter()
    subprocess.run([str(bin_dir / "atelier"), "train", "--tenant", "bench", "--model", "als",
                    "--param", f"factors={args.factors}", "--publish", "--no-progress"],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"trained and published ALS ({args.factors} factors) in "
          f"{time.perf_counter() - started:.1f} s")
    subprocess.run([sys.executable, str(ROOT / "load" / "bench_http.py"), "recommend", "--alone",
                    "--half-load", "--data-dir", str(data_dir), "--tenant", "bench",
                    "--seconds", str(args.seconds), "--users", str(args.users)],
                   env=env, check=True)


if __name__ == "__main__":
    main()
