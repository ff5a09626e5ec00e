"""The insights job on a synthetic tenant of many customers: wall time and peak memory.

Events are generated straight into a columnar :class:`~core.records.EventFrame`, as
``store.events_frame`` hands them to the job; the job then does what ``atelier insights`` does
after reading them (:func:`training.insights.fit_insights` with the default settings: fit,
validate, segment; then :func:`training.insights.write_run`: score, stage and commit the rows
chunk by chunk in a fresh embedded store). Reading the events out of a store is not measured.
``--mode all-rows`` runs the earlier path for comparison: every row built in memory
(:func:`~training.insights.compute_insights`), then one ``put_insights``.
Peak memory is the process's maximum resident set size (one process per mode, so the peaks are
each its own); CPU seconds are reported beside the wall time because the shared machine's load
moves the wall time more than the work.

``--mode cli`` is the product path end to end: the events are stored in an embedded store
(``add_events``, 50,000 a batch, with each event's item so the history rows are written too),
then ``atelier insights --tenant bench`` runs as its own process, reading them back; its wall
time and peak memory are the child process's.

Run: ``.venv/bin/python load/bench_insights_scale.py --customers 1000000 [--mode all-rows|cli]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.records import Event, EventFrame, Item
from store.sqlite import SQLiteStore
from training.insights import compute_insights, fit_insights, write_run

DAY = 86400.0
AS_OF = 1_764_547_200.0  # 2025-12-01T00:00:00Z


def synthetic(n: int, seed: int = 0) -> EventFrame:
    """``n`` customers over two years: each buys at their own rate, may stop, spends around
    their own mean, in 20 categories of 2,000 items."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(0.8, 1 / 40, n)  # purchases a day
    first = AS_OF - rng.uniform(0, 730, n) * DAY
    life = rng.exponential(400, n) * DAY
    end = np.minimum(first + life, AS_OF)
    count = 1 + rng.poisson(rate * (end - first) / DAY)
    cust = np.repeat(np.arange(n), count)
    offset = rng.uniform(0, 1, cust.shape[0]) * (end - first)[cust]
    offset[np.r_[0, np.cumsum(count)[:-1]]] = 0.0  # each customer's first purchase
    ts = first[cust] + offset
    value = rng.gamma(3.0, rng.gamma(2.0, 15.0, n)[cust] / 3.0)
    item = rng.integers(0, 2000, cust.shape[0])
    ids = np.char.add("c", np.arange(n).astype(str)).astype(object)
    return EventFrame(
        ids[cust],
        np.char.add("i", item.astype(str)).astype(object),
        np.full(cust.shape[0], "purchase", dtype=object),
        ts,
        np.ones(cust.shape[0]),
        value,
    )


def _cpu() -> float:
    """CPU seconds of this process (user + system): steadier than wall time on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def through_the_cli(frame: EventFrame, categories: dict[str, str]) -> dict[str, float]:
    """Store ``frame`` in a fresh embedded store, then time ``atelier insights`` on it."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "atelier.sqlite3")
        store.upsert_items("bench", [Item(i, category=c) for i, c in categories.items()])
        t0 = time.perf_counter()
        for start in range(0, len(frame), 50_000):
            part = frame.select(np.arange(start, min(start + 50_000, len(frame))))
            events = [
                Event(f"e{start + k}", c, t, ts, item_id=i, value=v)
                for k, (c, i, t, ts, v) in enumerate(
                    zip(
                        part.customer_id.tolist(),
                        part.item_id.tolist(),
                        part.type.tolist(),
                        part.timestamp.tolist(),
                        part.value.tolist(),
                        strict=True,
                    )
                )
            ]
            store.add_events("bench", events, [1.0] * len(events))
        store_s = time.perf_counter() - t0
        store.close()
        as_of = datetime.fromtimestamp(AS_OF, tz=UTC).isoformat()
        env = {**os.environ, "ATELIER_STORE": "embedded", "ATELIER_DATA_DIR": tmp}
        cli = Path(sys.executable).parent / "atelier"
        t0 = time.perf_counter()
        subprocess.run(
            [str(cli), "insights", "--tenant", "bench", "--as-of", as_of],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        job_s = time.perf_counter() - t0
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
        rows = sum(
            1 for _ in SQLiteStore(Path(tmp) / "atelier.sqlite3").iter_insights_rows("bench")
        )
    return {
        "store_seconds": round(store_s, 1),
        "job_seconds": round(job_s, 1),
        "job_cpu_seconds": round(child.ru_utime + child.ru_stime, 1),
        "job_peak_rss_mb": round(child.ru_maxrss / 1024),
        "rows_stored": rows,
    }


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--mode", choices=["stream", "all-rows", "cli"], default="stream")
    args = parser.parse_args()
    t0 = time.perf_counter()
    frame = synthetic(args.customers)
    gen_s = time.perf_counter() - t0
    rss_frame = _rss_mb()
    categories = {f"i{k}": f"cat{k % 20}" for k in range(2000)}
    events = len(frame)
    if args.mode == "cli":
        print(json.dumps({"mode": "cli", "customers": args.customers, "events": events,
                          **through_the_cli(frame, categories)}))  # fmt: skip
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.sqlite3")
        t0, cpu0 = time.perf_counter(), _cpu()
        if args.mode == "stream":
            fitted = fit_insights(frame, AS_OF, item_category=categories)
            del frame  # as the job does: the fit is all the rows need
            fit_s, rss_fit = time.perf_counter() - t0, _rss_mb()
            write_run(store, "bench", fitted)
            res = fitted.result
        else:
            res = compute_insights(frame, AS_OF, item_category=categories)
            fit_s, rss_fit = time.perf_counter() - t0, _rss_mb()
            store.put_insights("bench", res.to_dict(), res.rows, res.history())
        job_s, job_cpu = time.perf_counter() - t0, _cpu() - cpu0
        stored = sum(1 for _ in store.iter_insights_rows("bench"))
        store.close()
    print(
        json.dumps(
            {
                "mode": args.mode,
                "customers": res.model["n_customers"],
                "rows_stored": stored,
                "events": events,
                "generate_seconds": round(gen_s, 1),
                "fit_seconds": round(fit_s, 1),
                "job_seconds": round(job_s, 1),
                "job_cpu_seconds": round(job_cpu, 1),
                "peak_rss_mb_after_events": round(rss_frame),
                "peak_rss_mb_after_fit": round(rss_fit),
                "peak_rss_mb": round(_rss_mb()),
                "blend_weight": res.state["blend_weight"],
                "needs_segments": len((res.needs_model or {}).get("segments", {})),
            }
        )
    )


if __name__ == "__main__":
    main()
