"""Per-event customer update and in-process serving core latency, against implicit.

For an ALS model (Online Retail, and a synthetic 100k-customer x 50k-item model) sampled
customers with their real history rows live through a short session of events, each changing
one cell of the row (a view of a new item, 0 -> 1, or one more event on an item already in the
row, w -> w + 1). After every event the customer's vector is recomputed from the new row by

* ``IncrementalFoldIn.vector`` (the per-worker cache: one Sherman-Morrison step, O(f^2)),
* ``FactorScorer.fold_in`` (one small solve against the Gram matrix cached at load),
* implicit's ``recalculate_user`` for the same row on the same item factors, timed on a prebuilt
  CSR row and, as a server would call it, including building that row.

Each method is timed in its own loop over the same events (the usual micro-benchmark), and
again interleaved per event (each call runs right after the other two, so with colder CPU
caches; Python-level code suffers more from that than implicit's compiled solve).

The first event of a customer after its first read builds the cached ``A^-1`` (one solve) and is
reported apart; the per-event figures are the following events, the steady state of a session.
Reported: median/mean/p99 per event, the speed-ups, the largest relative difference to implicit
(float32) and to the exact float64 fold-in. Then the whole serving core (vector + scoring every
item + masked top-10) p50/p99, with the fold-in and with the cached vector.

Run (the machine is shared: pin one core, repeat passes): ::

    taskset -c 1 .venv/bin/python load/bench_reco_foldin.py [--quick] [--passes 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import scipy.sparse as sp

from recommender.artifacts import save_version
from recommender.foldin import IncrementalFoldIn
from recommender.interactions import InteractionWeights, build_matrix
from recommender.models import ALS, Popularity
from recommender.scoring import FactorScorer
from recommender.serving import LoadedModel

Session = list[tuple[np.ndarray, np.ndarray]]
CHUNK = 20  # customers per turn in the own-loop timing


def sessions(
    matrix: sp.csr_matrix, customers: int, events: int, rng: np.random.Generator
) -> list[tuple[int, Session]]:
    """Per sampled customer: its current row, then one row per event (one cell changed)."""
    n_items = matrix.shape[1]
    pop = np.asarray(matrix.getnnz(axis=0), dtype=np.float64) + 1.0
    pop /= pop.sum()
    users = rng.choice(np.flatnonzero(np.diff(matrix.indptr) > 0), customers, replace=False)
    out = []
    for u in users.tolist():
        row = matrix[u]
        cells = dict(zip(row.indices.tolist(), row.data.astype(float).tolist(), strict=True))
        rows: Session = []
        for _ in range(events + 1):
            if rows:
                if rng.random() < 0.5:
                    j = int(rng.choice(n_items, p=pop))  # a view, often of a new item
                else:
                    j = int(rng.choice(list(cells)))  # one more event on a known item
                cells[j] = cells.get(j, 0.0) + 1.0
            idx = np.array(sorted(cells), dtype=np.int32)
            rows.append((idx, np.array([cells[i] for i in idx.tolist()], dtype=np.float32)))
        out.append((u, rows))
    return out


def stats(us: np.ndarray) -> str:
    return (
        f"median {np.median(us):7.1f}  mean {us.mean():7.1f}  p99 {np.percentile(us, 99):8.1f} us"
    )


def bench(
    name: str, model: ALS, matrix: sp.csr_matrix, customers: int, events: int, passes: int
) -> None:
    from implicit.cpu.als import AlternatingLeastSquares

    folder = save_version(
        tempfile.mkdtemp(),
        "bench",
        model,
        np.arange(matrix.shape[1]).astype(str),
        {},
        popularity=Popularity().fit(matrix).popularity_,
    )
    served = LoadedModel.load(folder)
    scorer = served.scorer
    assert isinstance(scorer, FactorScorer)
    imp = AlternatingLeastSquares(
        factors=model.factors, regularization=model.regularization, alpha=model.alpha, num_threads=1
    )
    imp.item_factors = np.asarray(model.item_factors_)
    imp.user_factors = np.zeros((1, model.factors), dtype=np.float32)
    n_items = matrix.shape[1]
    sess = sessions(matrix, customers, events, np.random.default_rng(0))
    ks = [len(rows[0][0]) for _, rows in sess]
    print(
        f"\n## {name}: {matrix.shape[0]} customers x {n_items} items, {model.factors} "
        f"factors; {customers} customers x {events} events, history median "
        f"{int(np.median(ks))} items (p90 {int(np.percentile(ks, 90))}, max {max(ks)})"
    )

    # every event row, with implicit's CSR row prebuilt and the exact vectors for the errors
    csrs = [
        [sp.csr_matrix((w, idx, [0, len(idx)]), shape=(1, n_items)) for idx, w in rows]
        for _, rows in sess
    ]
    passes_us = []
    for p in range(passes):
        # each method in its own loop over the same events (the usual micro-benchmark), taking
        # turns by chunks of customers so that a change in the shared machine's load hits all
        # of them alike; then all three interleaved per event (colder caches)
        us: dict[str, list[float]] = {
            k: []
            for k in ("inc", "first", "cold", "fold", "imp", "imp_csr", "inc_i", "imp_i", "fold_i")
        }
        cache = IncrementalFoldIn(scorer)
        vectors = []
        for c0 in range(0, len(sess), CHUNK):
            chunk = list(zip(sess[c0 : c0 + CHUNK], csrs[c0 : c0 + CHUNK], strict=True))
            for (u, rows), _ in chunk:
                t = time.perf_counter()
                cache.vector(u, *rows[0])  # the customer's first read in this worker: a fold-in
                us["cold"].append(time.perf_counter() - t)
                for e, (idx, w) in enumerate(rows[1:]):
                    t = time.perf_counter()
                    x = cache.vector(u, idx, w)
                    us["first" if e == 0 else "inc"].append(time.perf_counter() - t)
                    vectors.append(x)
            for _, row_csrs in chunk:
                for csr in row_csrs[1:]:
                    t = time.perf_counter()
                    imp.recalculate_user(0, csr)
                    us["imp"].append(time.perf_counter() - t)
            for (_, rows), _ in chunk:
                for idx, w in rows[1:]:
                    t = time.perf_counter()
                    imp.recalculate_user(
                        0, sp.csr_matrix((w, idx, [0, len(idx)]), shape=(1, n_items))
                    )
                    us["imp_csr"].append(time.perf_counter() - t)
            for (_, rows), _ in chunk:
                for idx, w in rows[1:]:
                    t = time.perf_counter()
                    scorer.fold_in(idx, w)
                    us["fold"].append(time.perf_counter() - t)
        cache = IncrementalFoldIn(scorer)
        err_imp = err_exact = 0.0
        n = 0
        for (u, rows), row_csrs in zip(sess, csrs, strict=True):
            cache.vector(u, *rows[0])
            for e, ((idx, w), csr) in enumerate(zip(rows[1:], row_csrs[1:], strict=True)):
                t = time.perf_counter()
                ours = cache.vector(u, idx, w)
                dt = time.perf_counter() - t
                if e:
                    us["inc_i"].append(dt)
                t = time.perf_counter()
                ref = imp.recalculate_user(0, csr)
                us["imp_i"].append(time.perf_counter() - t)
                t = time.perf_counter()
                exact = scorer.fold_in(idx, w)
                us["fold_i"].append(time.perf_counter() - t)
                np.testing.assert_allclose(ours, vectors[n], rtol=1e-9, atol=1e-12)
                n += 1
                err_imp = max(
                    err_imp, float(np.abs(ours - ref).max()) / max(float(np.abs(ref).max()), 1e-12)
                )
                err_exact = max(
                    err_exact,
                    float(np.abs(ours - exact).max()) / max(float(np.abs(exact).max()), 1e-12),
                )
        a = {k: np.array(v) * 1e6 for k, v in us.items()}
        passes_us.append(a)
        print(
            f"pass {p + 1}: incremental {stats(a['inc'])} | recalculate_user "
            f"{stats(a['imp'])} | x{np.median(a['imp']) / np.median(a['inc']):.1f}; "
            f"interleaved x{np.median(a['imp_i']) / np.median(a['inc_i']):.1f}"
        )
        print(
            f"        max relative difference: to implicit {err_imp:.1e}, "
            f"to exact fold-in {err_exact:.1e}; cache {cache.stats}"
        )
    # the pass with the median incremental median, so one noisy pass does not decide
    a = sorted(passes_us, key=lambda d: float(np.median(d["inc"])))[len(passes_us) // 2]
    inc = a["inc"]
    print("each method in its own loop over the same events:")
    print(f"  per-event update, IncrementalFoldIn  {stats(inc)}")
    print(f"  implicit recalculate_user            {stats(a['imp'])}")
    print(f"  implicit incl. building the CSR row  {stats(a['imp_csr'])}")
    print(f"  FactorScorer.fold_in (one solve)     {stats(a['fold'])}")
    print(f"  first event (builds A^-1, a solve)   {stats(a['first'])}")
    print(f"  first read of a customer (fold-in)   {stats(a['cold'])}")
    for label, ref in (
        ("recalculate_user", a["imp"]),
        ("+ CSR row", a["imp_csr"]),
        ("fold_in", a["fold"]),
    ):
        print(
            f"  speed-up vs {label:16s} median x{np.median(ref) / np.median(inc):5.1f}  "
            f"mean x{ref.mean() / inc.mean():5.1f}  p99 x"
            f"{np.percentile(ref, 99) / np.percentile(inc, 99):5.1f}"
        )
    print("interleaved per event (ours, implicit, fold-in in turn: colder caches):")
    print(f"  per-event update, IncrementalFoldIn  {stats(a['inc_i'])}")
    print(f"  implicit recalculate_user            {stats(a['imp_i'])}")
    print(f"  FactorScorer.fold_in                 {stats(a['fold_i'])}")
    ii = a["inc_i"]
    print(
        f"  speed-up vs recalculate_user median x{np.median(a['imp_i']) / np.median(ii):5.1f}"
        f"  mean x{a['imp_i'].mean() / ii.mean():5.1f}"
    )
    core(served, scorer, sess)


def core(served: LoadedModel, scorer: FactorScorer, sess: list[tuple[int, Session]]) -> None:
    """Serving core per request after an event: vector + score every item + masked top-10."""
    cache = IncrementalFoldIn(scorer)
    t_fold, t_cached = [], []
    for u, rows in sess:
        cache.vector(u, *rows[0])
        cache.vector(u, *rows[1])
        for idx, w in rows[2:]:
            t = time.perf_counter()
            served.recommend_for_history(idx, w, 10, purchased_idx=idx)
            t_fold.append(time.perf_counter() - t)
            t = time.perf_counter()
            served.recommend_for_history(
                idx, w, 10, purchased_idx=idx, user_vector=cache.vector(u, idx, w)
            )
            t_cached.append(time.perf_counter() - t)
    a, b = np.array(t_fold) * 1e6, np.array(t_cached) * 1e6
    print(
        f"serving core ({served.n_items} items, masked top-10): with fold-in p50 "
        f"{np.percentile(a, 50):.0f} us p99 {np.percentile(a, 99):.0f} us; with the cached "
        f"vector p50 {np.percentile(b, 50):.0f} us p99 {np.percentile(b, 99):.0f} us"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer customers and ALS iterations")
    ap.add_argument("--passes", type=int, default=3, help="timing passes over the sessions")
    ap.add_argument("--only", choices=["retail", "synthetic"], default=None)
    args = ap.parse_args()
    customers, events = (100, 6) if args.quick else (300, 8)

    if args.only in (None, "retail"):
        from training.datasets import online_retail

        matrix, _, _ = build_matrix(online_retail(), InteractionWeights(binary=True))
        model = ALS(
            factors=64, alpha=5.0, regularization=0.05, iterations=5 if args.quick else 15
        ).fit(matrix)
        bench("Online Retail", model, matrix, customers, events, args.passes)

    if args.only in (None, "synthetic"):
        rng = np.random.default_rng(1)
        n_users, n_items, per_user = 100_000, 50_000, 20
        rows = np.repeat(np.arange(n_users), per_user)
        # Zipf-like item popularity, as in real catalogues
        cols = np.minimum((rng.pareto(1.2, n_users * per_user) * 200).astype(np.int64), n_items - 1)
        synth = sp.csr_matrix(
            (np.ones(len(rows), np.float32), (rows, cols)), shape=(n_users, n_items)
        )
        synth.data[:] = 1.0
        t = time.perf_counter()
        model = ALS(
            factors=64, alpha=5.0, regularization=0.05, iterations=2 if args.quick else 5
        ).fit(synth)
        print(f"\n(synthetic ALS fit: {time.perf_counter() - t:.1f} s)")
        bench("Synthetic", model, synth, customers, events, args.passes)


if __name__ == "__main__":
    main()
