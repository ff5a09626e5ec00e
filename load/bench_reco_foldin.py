"""Per-event fold-in and in-process serving core latency.

For an ALS model (Online Retail, and a synthetic 100k-customer x 50k-item model), replay
"one new event" for sampled customers: the history row gains one item, and the customer's vector
is recomputed (a) by ``LoadedModel.fold_in`` (Woodbury solve against the Gram matrix cached at
load) and (b) by implicit's ``recalculate_user`` (building the CSR row it needs, as a server
would). Reports median per-event times, the speed-up and the largest relative difference of the
vectors; then the whole serving core (fold-in + scoring every item + masked top-10) p50/p99.

Run: ``.venv/bin/python load/bench_reco_foldin.py [--quick]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import scipy.sparse as sp

from recommender.serving import LoadedModel
from training.artifacts import save_version
from training.interactions import InteractionWeights, build_matrix
from training.models import ALS, Popularity


def bench(name: str, model: ALS, matrix: sp.csr_matrix, samples: int) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    root = tempfile.mkdtemp()
    ids = np.arange(matrix.shape[1]).astype(str)
    folder = save_version(root, "bench", model, ids, {},
                          popularity=Popularity().fit(matrix).popularity_)
    served = LoadedModel.load(folder)
    imp = AlternatingLeastSquares(factors=model.factors, regularization=model.regularization,
                                  alpha=model.alpha, num_threads=1)
    imp.item_factors = np.asarray(model.item_factors_)
    imp.user_factors = np.zeros((1, model.factors), dtype=np.float32)
    n_items = matrix.shape[1]
    rng = np.random.default_rng(0)
    users = rng.choice(np.flatnonzero(np.diff(matrix.indptr) > 0), samples, replace=False)
    t_ours, t_imp, t_core, errs, ks = [], [], [], [], []
    for u in users:
        row = matrix[u]
        new_item = int(rng.integers(n_items))
        w_new = 1.0
        cells = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        cells[new_item] = cells.get(new_item, 0.0) + w_new
        idx = np.array(sorted(cells), dtype=np.int32)
        w = np.array([cells[i] for i in idx.tolist()], dtype=np.float32)
        ks.append(len(idx))
        t = time.perf_counter()
        ours = served.fold_in(idx, w)
        t_ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        csr = sp.csr_matrix((w, idx, [0, len(idx)]), shape=(1, n_items))
        ref = imp.recalculate_user(0, csr)
        t_imp.append(time.perf_counter() - t)
        errs.append(float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-12)))
        t = time.perf_counter()
        served.recommend_for_history(idx, w, 10, purchased_idx=idx)
        t_core.append(time.perf_counter() - t)
    to, ti, tc = (np.array(x) * 1e6 for x in (t_ours, t_imp, t_core))
    print(f"\n## {name}: {matrix.shape[0]} customers x {n_items} items, "
          f"{model.factors} factors, {samples} events, history median {int(np.median(ks))} "
          f"items (max {max(ks)})")
    print(f"fold-in (ours)            median {np.median(to):8.1f} us   p99 "
          f"{np.percentile(to, 99):8.1f} us")
    print(f"implicit recalculate_user median {np.median(ti):8.1f} us   p99 "
          f"{np.percentile(ti, 99):8.1f} us")
    print(f"speed-up (median)         {np.median(ti) / np.median(to):8.1f} x   "
          f"(mean {ti.mean() / to.mean():.1f} x)")
    print(f"max relative difference   {max(errs):.2e}")
    print(f"serving core (fold-in + score {n_items} items + masked top-10) "
          f"p50 {np.percentile(tc, 50):.0f} us  p99 {np.percentile(tc, 99):.0f} us")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from training.datasets import online_retail

    matrix, _, _ = build_matrix(online_retail(), InteractionWeights(binary=True))
    model = ALS(factors=64, alpha=5.0, regularization=0.05, iterations=15).fit(matrix)
    bench("Online Retail", model, matrix, 300 if args.quick else 1000)

    rng = np.random.default_rng(1)
    n_users, n_items, per_user = 100_000, 50_000, 20
    rows = np.repeat(np.arange(n_users), per_user)
    # Zipf-like item popularity, as in real catalogues
    cols = np.minimum((rng.pareto(1.2, n_users * per_user) * 200).astype(np.int64), n_items - 1)
    synth = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                          shape=(n_users, n_items))
    synth.data[:] = 1.0
    t = time.perf_counter()
    model = ALS(factors=64, alpha=5.0, regularization=0.05,
                iterations=2 if args.quick else 5).fit(synth)
    print(f"\n(synthetic ALS fit: {time.perf_counter() - t:.1f} s)")
    bench("Synthetic", model, synth, 300 if args.quick else 1000)


if __name__ == "__main__":
    main()
