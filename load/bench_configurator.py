"""In-process configurator benchmark: compile time, diagram size and configure latency.

Families: the two reference families and a synthetic one with twice the attributes of
original-spin (every attribute and rule duplicated), to show how cost grows. Queries are a
random walk of partial selections (sometimes contradictory, sometimes with measurements and
preferences), replayed twice: *cold* (:meth:`Configurator.clear_caches` before each query: only
the compiled diagram and the tables compiled with it remain, the cost of a state never seen
before) and *warm* (caches kept, as in a running service). Each query is timed ``--repeat`` times
and counts with its median, so that the percentiles measure the engine rather than the other
processes on a shared machine (``raw_p99_ms`` in the JSON is over every single run).

Usage: ``.venv/bin/python load/bench_configurator.py [--queries 400] [--seed 0] [--repeat 3]
[--json]`` (pin it to one core on a shared machine: ``taskset -c 1 ...``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from typing import Any

import numpy as np

from configurator import BDDBackend, Configurator, load_family, reference_families
from configurator.family import ProductFamily


def _rename_rule(rule: dict[str, Any], suffix: str) -> dict[str, Any]:
    out = dict(rule)
    if "id" in out:
        out["id"] = f"{out['id']}{suffix}"
    for key in ("if", "when"):
        if key in out:
            out[key] = {f"{k}{suffix}": v for k, v in out[key].items()}
    if "then" in out:
        then = out["then"]
        out["then"] = (
            [_rename_rule(r, suffix) for r in then]
            if isinstance(then, list)
            else {f"{k}{suffix}": v for k, v in then.items()}
        )
    if "otherwise" in out:
        out["otherwise"] = [_rename_rule(r, suffix) for r in out["otherwise"]]
    if "attributes" in out:
        out["attributes"] = [f"{a}{suffix}" for a in out["attributes"]]
    if "terms" in out:
        out["terms"] = [{**t, "attribute": f"{t['attribute']}{suffix}"} for t in out["terms"]]
    return out


def doubled(fam: ProductFamily) -> ProductFamily:
    """``fam`` with every attribute and rule duplicated under a ``_2`` suffix."""
    spec = fam.to_json()
    spec["id"] = f"{fam.id}-x2"
    spec["attributes"] = spec["attributes"] + [
        {**a, "name": f"{a['name']}_2"} for a in spec["attributes"]
    ]
    spec["rules"] = spec.get("rules", []) + [_rename_rule(r, "_2") for r in spec.get("rules", [])]
    spec.pop("text_options", None)
    return load_family(spec)


def _queries(cfg: Configurator, n: int, rng: random.Random) -> list[dict[str, Any]]:
    """A random walk: add a selection, sometimes drop one, sometimes restart."""
    out = []
    sel: dict[str, str] = {}
    names = [a.name for a in cfg.family.attributes]
    for _ in range(n):
        r = rng.random()
        if r < 0.08 or len(sel) >= len(names):
            sel = {}
        elif r < 0.2 and sel:
            sel.pop(rng.choice(list(sel)))
        else:
            a = rng.choice(names)
            res = cfg.configure(sel)
            for c in res.conflicts:  # the client applies the drops it was answered with
                sel.pop(c.attribute, None)
            opts = res.options[a]
            valid = [s.value for s in opts if s.valid]
            # mostly valid clicks, some contradictory ones
            pool = valid if valid and rng.random() < 0.85 else [s.value for s in opts]
            sel[a] = rng.choice(pool)
        q: dict[str, Any] = {"selections": dict(sel)}
        if cfg.family.measurements and rng.random() < 0.3:
            q["measurements"] = {
                m.name: round(
                    rng.uniform(m.min, m.max)
                    if m.max - m.min < 30
                    else rng.uniform(m.min, m.min + 40),
                    1,
                )
                for m in cfg.family.measurements
                if m.attribute in names
            }
            q["measurements"] = {
                k: min(v, next(m.max for m in cfg.family.measurements if m.name == k))
                for k, v in q["measurements"].items()
            }
        if rng.random() < 0.3:
            attr = rng.choice(cfg.family.attributes)
            q["preferences"] = {attr.name: [o.value for o in rng.sample(attr.values, 2)]}
        out.append(q)
    return out


def _clear(cfg: Configurator) -> None:
    cfg.clear_caches()


def _latency(
    cfg: Configurator, queries: list[dict[str, Any]], cold: bool, repeat: int
) -> dict[str, float]:
    """Percentiles over queries of each query's median of ``repeat`` timed runs (the median
    shields the percentiles from the other processes on a shared machine; ``raw_p99_ms`` is
    over every single run)."""
    per_query = []
    raw = []
    for q in queries:
        runs = []
        for _ in range(repeat):
            if cold:
                _clear(cfg)
            t = time.perf_counter()
            cfg.configure(**q)
            runs.append((time.perf_counter() - t) * 1000)
        per_query.append(statistics.median(runs))
        raw += runs
    arr = np.array(per_query)
    return {
        "p50_ms": float(np.percentile(arr, 50)),
        "p99_ms": float(np.percentile(arr, 99)),
        "max_ms": float(arr.max()),
        "raw_p99_ms": float(np.percentile(raw, 99)),
    }


def bench(fam: ProductFamily, n_queries: int, seed: int, repeat: int) -> dict[str, Any]:
    compile_s = []
    cfg = None
    for _ in range(3):
        t = time.perf_counter()
        cfg = Configurator(fam, backend="bdd")
        compile_s.append(time.perf_counter() - t)
    assert cfg is not None
    backend = cfg.backend
    assert isinstance(backend, BDDBackend)
    queries = _queries(cfg, n_queries, random.Random(seed))
    cold = _latency(cfg, queries, cold=True, repeat=repeat)
    _latency(cfg, queries, cold=False, repeat=1)  # fill the caches once
    warm = _latency(cfg, queries, cold=False, repeat=repeat)
    conflicts = sum(bool(cfg.configure(**q).conflicts) for q in queries)
    return {
        "family": fam.id,
        "attributes": len(fam.attributes),
        "options": sum(len(a.values) for a in fam.attributes),
        "rules": len(fam.rules),
        "variant_count": cfg.variant_count,
        "compile_s": statistics.median(compile_s),
        "diagram_s": backend.diagram_seconds,
        "tables_s": backend.compile_seconds,
        "bdd_nodes": backend.node_count,
        "bdd_vars": backend.nvars,
        "graph_exits": len(backend.ex_next) if backend.graph else 0,
        "queries": len(queries),
        "with_conflicts": conflicts,
        "cold": cold,
        "warm": warm,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per query")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    fams = reference_families()
    rows = [
        bench(f, args.queries, args.seed, args.repeat)
        for f in (fams["original-spin"], fams["logistics-bundle"], doubled(fams["original-spin"]))
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    head = (
        f"{'family':<20}{'attrs':>6}{'opts':>6}{'rules':>6}{'variants':>22}"
        f"{'compile ms':>11}{'nodes':>7}{'cold p50':>9}{'cold p99':>9}{'warm p50':>9}"
        f"{'warm p99':>9}"
    )
    print(head)
    for r in rows:
        print(
            f"{r['family']:<20}{r['attributes']:>6}{r['options']:>6}{r['rules']:>6}"
            f"{r['variant_count']:>22}{r['compile_s'] * 1000:>11.1f}{r['bdd_nodes']:>7}"
            f"{r['cold']['p50_ms']:>9.2f}{r['cold']['p99_ms']:>9.2f}"
            f"{r['warm']['p50_ms']:>9.2f}{r['warm']['p99_ms']:>9.2f}"
        )
    print(
        f"({args.queries} configure calls per family, each the median of {args.repeat} runs; "
        f"latencies in ms; cold = every cache emptied before each run; "
        f"{sum(r['with_conflicts'] for r in rows)} calls answered with conflicts)"
    )
    print(
        "compile = Configurator(); of which diagram ms: "
        + ", ".join(f"{r['family']} {r['diagram_s'] * 1000:.1f}" for r in rows)
        + "; raw p99 (every run) cold/warm ms: "
        + ", ".join(
            f"{r['family']} {r['cold']['raw_p99_ms']:.2f}/{r['warm']['raw_p99_ms']:.2f}"
            for r in rows
        )
    )


if __name__ == "__main__":
    main()
