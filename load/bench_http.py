"""HTTP benchmark harness: start Atelier and locust pinned to different cores, report percentiles.

Examples
--------
Profile reads against /healthz in one run, embedded store::

    python load/bench_http.py profile --store embedded

Ingestion in batches of 1,000 on Redis::

    python load/bench_http.py ingest --store redis

Each scenario lists the locust user classes that run side by side; ``--alone`` instead runs each
class on its own at saturation and reports throughput ratios against the first one's baseline.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SCENARIOS: dict[str, list[str]] = {
    "profile": ["HealthUser", "ProfileUser"],
    "ingest": ["IngestUser"],
    "recommend": ["HealthUser", "RecommendUser"],
    "insights": ["HealthUser", "ProfileUser", "InsightsUser"],
    "insights-new": ["HealthUser", "InsightsNewUser"],
    "value": ["HealthUser", "ValueActionsUser"],
    "configure": ["HealthUser", "ConfigureUser"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pinned(cmd: list[str], core: str) -> list[str]:
    return ["taskset", "-c", core, *cmd] if shutil.which("taskset") and os.cpu_count() else cmd


def start_server(env: dict[str, str], port: int, core: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        pinned([str(BIN / "atelier"), "serve"], core),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(1200):
        try:
            # /readyz: models loaded and their answers precomputed, as a load balancer waits.
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("server did not start")


_WRK_LATENCY = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")


def wrk(
    url: str,
    key: str,
    seconds: int,
    connections: int,
    *,
    script: Path | None = None,
    env: dict[str, str] | None = None,
    core: str | None = None,
) -> dict[str, float]:
    """p50, p99 (ms) and requests/s of one URL under wrk (one thread; ``script``: a Lua file
    that makes each request, ``core``: the CPU it is pinned to). An error answer stops the
    benchmark."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "60s",
           "-H", f"Authorization: Bearer {key}", *(["-s", str(script)] if script else []), url]  # fmt: skip
    out = subprocess.run(
        pinned(cmd, core) if core is not None else cmd,
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    got = {f"p{q}_ms": float(v) * scale[u] for q, v, u in _WRK_LATENCY.findall(out)}
    rate = _WRK_RATE.search(out)
    got["rps"] = float(rate.group(1)) if rate else float("nan")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error answers\n{out}")
    if "p50_ms" not in got or "p99_ms" not in got:
        raise SystemExit(f"{url}: no latency distribution from wrk\n{out}")
    return got


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live children (the workers), from
    Linux's /proc; 0.0 where unavailable."""
    total, parents = 0.0, {pid}
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
    for p, fields in stats.items():
        if p == pid or int(fields[1]) in parents:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_locust(
    classes: list[str],
    env: dict[str, str],
    port: int,
    users: int,
    seconds: int,
    core: str,
    out: Path,
    server_pid: int = 0,
) -> list[dict[str, str]]:
    """Run locust headless; the rows of its stats, each with the server's and locust's CPU
    use over the run (``server_cpu``, ``locust_cpu``: busy share of one core) and the
    server's CPU time per request (``server_us``), which no client bottleneck distorts."""
    prefix = out / "_".join(classes)
    cmd = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "load" / "locustfile.py"),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(users),
        "-t",
        f"{seconds}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "ERROR",
        *classes,
    ]
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before, started = cpu_seconds(server_pid), time.perf_counter()
    subprocess.run(
        pinned(cmd, core), env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wall = time.perf_counter() - started
    server = cpu_seconds(server_pid) - server_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    locust = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(f"{prefix}_stats.csv") as fh:
        rows = [row for row in csv.DictReader(fh) if row["Name"] != "Aggregated"]
    total = sum(int(r["Request Count"]) for r in rows) or 1
    for r in rows:
        r["server_cpu"] = f"{server / wall:.2f}"
        r["locust_cpu"] = f"{locust / wall:.2f}"
        r["server_us"] = f"{server / total * 1e6:.0f}"
    return rows


def report(rows: list[dict[str, str]], title: str) -> None:
    print(f"\n{title}")
    print(
        f"{'endpoint':<52}{'requests':>9}{'fail':>6}{'req/s':>9}{'p50':>7}{'p95':>7}{'p99':>7}"
        f"{'server us/req':>15}{'server cpu':>12}{'locust cpu':>12}"
    )
    for r in rows:
        print(
            f"{r['Name']:<52}{r['Request Count']:>9}{r['Failure Count']:>6}"
            f"{float(r['Requests/s']):>9.1f}{r['50%']:>7}{r['95%']:>7}{r['99%']:>7}"
            f"{r.get('server_us', ''):>15}{r.get('server_cpu', ''):>12}"
            f"{r.get('locust_cpu', ''):>12}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--store", choices=["embedded", "redis"], default="embedded")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="existing data dir (default: a fresh temporary one with the demo)",
    )
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--alone", action="store_true", help="each endpoint alone at saturation")
    parser.add_argument(
        "--half-load",
        action="store_true",
        help="with --alone: then run the last endpoint at half its throughput",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="atelier-bench-"))
    data_dir = args.data_dir or work / "data"
    port = free_port()
    prefix = f"bench-{os.getpid()}"
    env = {
        **os.environ,
        "ATELIER_DATA_DIR": str(data_dir),
        "ATELIER_PORT": str(port),
        "ATELIER_STORE": args.store,
        "ATELIER_REDIS_URL": args.redis_url,
        "ATELIER_REDIS_PREFIX": prefix,
        "ATELIER_RATE_LIMIT_REQUESTS": "0",
        "ATELIER_WORKERS": str(args.workers),
        "ATELIER_DEMO_TENANT": args.tenant,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    # Seed the tenant and a key through the CLI, exactly as an operator would.
    subprocess.run(
        [str(BIN / "atelier"), "demo", "load"], env=env, check=True, stdout=subprocess.DEVNULL
    )
    for extra in os.environ.get("ATELIER_BENCH_SETUP", "").split(";"):
        if extra.strip():
            subprocess.run(
                [str(BIN / "atelier"), *extra.split()],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
    out = subprocess.run(
        [
            str(BIN / "atelier"),
            "keys",
            "create",
            "--tenant",
            args.tenant,
            "--scopes",
            "events,catalog,customers,recommend,configure,admin",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    env["ATELIER_BENCH_KEY"] = out.strip().splitlines()[-1]
    sys.path.insert(0, str(ROOT))
    from settings import Settings
    from store import open_configured_store

    os.environ.update({k: v for k, v in env.items() if k.startswith("ATELIER_")})
    store = open_configured_store(Settings())
    customers = sorted({c for c in store.events_frame(args.tenant).customer_id.tolist()})
    items = [i.item_id for i in store.iter_items(args.tenant)]
    store.close()
    (work / "customers.txt").write_text("\n".join(customers))
    (work / "items.txt").write_text("\n".join(items))
    env["ATELIER_BENCH_CUSTOMERS"] = str(work / "customers.txt")
    env["ATELIER_BENCH_ITEMS"] = str(work / "items.txt")

    server = start_server(env, port, "0")
    try:
        classes = SCENARIOS[args.scenario]
        print(
            f"scenario {args.scenario}: store={args.store} workers={args.workers} "
            f"users={args.users} seconds={args.seconds} customers={len(customers)} "
            f"items={len(items)}; server on core 0, locust on core 1"
        )
        if args.alone:
            results = {}
            for cls in classes:
                rows = run_locust([cls], env, port, args.users, args.seconds, "1", work, server.pid)
                report(rows, f"{cls} alone")
                results[cls] = rows[0]
            base = float(results[classes[0]]["Requests/s"])
            base_us = float(results[classes[0]]["server_us"] or 0)
            for cls in classes[1:]:
                ratio = float(results[cls]["Requests/s"]) / base
                us = float(results[cls]["server_us"] or 0)
                print(
                    f"throughput {cls} / {classes[0]}: {ratio:.2f}"
                    + (
                        f"; server CPU per request {classes[0]} / {cls}: {base_us / us:.2f}"
                        if us and base_us
                        else ""
                    )
                )
            if args.half_load:
                last = classes[-1]
                target = float(results[last]["Requests/s"]) / 2
                paced = {**env, "ATELIER_BENCH_RATE": str(target / args.users)}
                rows = run_locust(
                    [last], paced, port, args.users, args.seconds, "1", work, server.pid
                )
                report(rows, f"{last} paced at half its throughput ({target:.0f} req/s)")
        else:
            rows = run_locust(classes, env, port, args.users, args.seconds, "1", work, server.pid)
            report(rows, "side by side in one run (ms)")
            if args.scenario == "ingest":
                rps = float(rows[0]["Requests/s"])
                print(f"ingestion: {rps * 1000:,.0f} events/s ({rps:.1f} batches of 1,000 per s)")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
        if args.store == "redis":
            import redis

            r = redis.Redis.from_url(args.redis_url)
            for key in r.scan_iter(match=f"{prefix}:*", count=1000):
                r.delete(key)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
