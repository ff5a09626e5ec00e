"""Serving cost with an A/B experiment running beside without, paired in one run.

Builds the serving benchmark's synthetic tenant (``load/bench_reco_serving.py``; smaller by
default), trains two ALS versions through the CLI (``atelier train --model als --publish``, the
second one with other factors), then calls the ASGI app in process on one core: the hot
recommendation route, rounds alternating *without* and *with* an experiment splitting customers
50/50 between the two versions. After each switch every requested customer is asked once (as
traffic would: the arm's answers get precomputed), then the round is timed.

    python load/bench_experiment_serving.py [--items 20000] [--customers 5000] [--rounds 3]
    python load/bench_experiment_serving.py --data-dir DIR   # reuse a tenant built earlier
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "load"))

from bench_reco_serving import _call, build  # noqa: E402


def train(data_dir: Path, factors: int) -> None:
    env = {
        **os.environ,
        "ATELIER_STORE": "embedded",
        "ATELIER_DATA_DIR": str(data_dir),
        "OPENBLAS_NUM_THREADS": "1",
    }
    command = [str(Path(sys.executable).parent / "atelier"), "train", "--tenant", "bench"]
    command += ["--model", "als", "--param", f"factors={factors}", "--publish", "--no-progress"]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def measure(data_dir: Path, requests: int, rounds: int, core: int = 1) -> None:
    from access.keys import create_key
    from api.main import create_app
    from recommender.experiments import ExperimentService
    from settings import Settings

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    settings = Settings(data_dir=data_dir, store="embedded", rate_limit_requests=0)
    app = create_app(settings)
    store = app.state.store
    service = app.state.recommender
    service.start()
    while not service.ready():
        time.sleep(0.1)
    versions = [m.version for m in store.list_models("bench")][-2:]
    experiments = ExperimentService(store, service.registry)
    _, key = create_key(store, "bench", frozenset({"recommend"}))
    headers = [(b"authorization", f"Bearer {key}".encode()), (b"host", b"bench")]
    customers = sorted(set(store.events_frame("bench").customer_id.tolist()))
    rnd = random.Random(0)
    paths = [f"/v1/customers/{rnd.choice(customers)}/recommendations" for _ in range(5000)]
    arms = {"A": versions[0], "B": versions[1]}

    async def timed() -> np.ndarray:
        for path in set(paths):  # warm: what traffic does right after a switch
            await _call(app, path, b"n=10", headers)
        times = []
        for i in range(requests):
            t = time.perf_counter()
            await _call(app, paths[i % len(paths)], b"n=10", headers)
            times.append(time.perf_counter() - t)
        return np.array(times) * 1e6

    async def run() -> dict[str, list[np.ndarray]]:
        out: dict[str, list[np.ndarray]] = {"without": [], "with": []}
        for r in range(rounds):
            out["without"].append(await timed())
            experiments.start("bench", f"bench-{r}", arms, {"A": 0.5, "B": 0.5})
            out["with"].append(await timed())
            experiments.end("bench", f"bench-{r}")
        return out

    results = asyncio.run(run())
    print(
        f"\nhot recommendation route in process (core {core}, {requests} requests per round, "
        f"{rounds} paired rounds; versions {versions[0]} / {versions[1]}):"
    )
    print(f"{'case':<30}{'p50 us':>9}{'p99 us':>9}{'mean us':>9}{'req/s':>9}")
    for name, runs in results.items():
        a = np.concatenate(runs)
        label = "without experiment" if name == "without" else "with experiment (50/50)"
        print(
            f"{label:<30}{np.median(a):>9.1f}{np.percentile(a, 99):>9.1f}"
            f"{a.mean():>9.1f}{1e6 / a.mean():>9.0f}"
        )
    service.close()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="atelier-experiment-"))
        build(data_dir, args.items, args.customers)
        started = time.perf_counter()
        train(data_dir, 32)
        train(data_dir, 64)
        print(f"trained two ALS versions in {time.perf_counter() - started:.1f} s ({data_dir})")
    measure(data_dir, args.requests, args.rounds)


if __name__ == "__main__":
    main()
