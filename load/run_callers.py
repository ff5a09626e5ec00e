"""Load scenarios of the three callers: start Atelier on the demo shop, run locust headless,
write locust's CSV and a markdown table (throughput, p50/p95/p99 per endpoint, ``/healthz``
beside).

One command per caller (``make load-storefront``, ``make load-portal``, ``make load-retraining``)::

    python load/run_callers.py storefront --store redis --workers 2 --seconds 45

``--matrix`` runs the caller on both stores with 1 and 2 workers and writes one table per run
and a summary. The server and locust share the machine's cores (nothing is pinned): the figures
are what the whole box holds, client included.
"""

from __future__ import annotations

import argparse
import csv
import os
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
CALLERS: dict[str, list[str]] = {
    "storefront": ["HealthUser", "StorefrontUser"],
    "portal": ["HealthUser", "PortalUser"],
    "retraining": ["HealthUser", "StorefrontUser", "RetrainingJob"],
}
SCOPES = "events,catalog,customers,recommend,configure,admin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def atelier(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [str(BIN / "atelier"), *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def prepare(env: dict[str, str], tenant: str, work: Path) -> None:
    """The demo shop, its insights and a model, loaded as an operator would; a key and the id
    lists for locust."""
    atelier(env, "demo", "load", "--tenant", tenant)
    atelier(env, "train", "--tenant", tenant, "--publish")  # the defaults an operator gets
    env["ATELIER_BENCH_KEY"] = atelier(
        env, "keys", "create", "--tenant", tenant, "--scopes", SCOPES
    ).splitlines()[-1]
    sys.path.insert(0, str(ROOT))
    from settings import Settings
    from store import open_configured_store

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("ATELIER_")})
    try:
        store = open_configured_store(Settings())
        customers = sorted(set(store.events_frame(tenant).customer_id.tolist()))
        items = [i.item_id for i in store.iter_items(tenant)]
        store.close()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    (work / "customers.txt").write_text("\n".join(customers))
    (work / "items.txt").write_text("\n".join(items))
    env["ATELIER_BENCH_CUSTOMERS"] = str(work / "customers.txt")
    env["ATELIER_BENCH_ITEMS"] = str(work / "items.txt")


def serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(BIN / "atelier"), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:  # /readyz: models loaded and answers precomputed, as a load balancer waits
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("the server did not become ready")


def table(rows: list[dict[str, str]], title: str) -> str:
    """Markdown: one row per endpoint, ``/healthz`` first."""
    rows = sorted(rows, key=lambda r: (r["Name"] != "GET /healthz", r["Name"]))
    lines = [
        f"**{title}**",
        "",
        "| endpoint | requests | failures | req/s | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['Name']} | {r['Request Count']} | {r['Failure Count']} | "
            f"{float(r['Requests/s']):.1f} | {r['50%']} | {r['95%']} | {r['99%']} |"
        )
    return "\n".join(lines) + "\n"


def run(caller: str, store: str, workers: list[int], args: argparse.Namespace) -> list[str]:
    """Runs of ``caller`` on one prepared shop, one per worker count; their markdown tables
    (each also written beside locust's CSV)."""
    work = Path(tempfile.mkdtemp(prefix="atelier-load-"))
    prefix = f"load-{os.getpid()}-{free_port()}"
    env = {
        **os.environ,
        "ATELIER_DATA_DIR": str(work / "data"),
        "ATELIER_STORE": store,
        "ATELIER_REDIS_URL": args.redis_url,
        "ATELIER_REDIS_PREFIX": prefix,
        "ATELIER_RATE_LIMIT_REQUESTS": "0",
        "ATELIER_BENCH_TENANT": args.tenant,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tables = []
    try:
        prepare(env, args.tenant, work)
        customers = len(Path(env["ATELIER_BENCH_CUSTOMERS"]).read_text().split())
        for n in workers:
            port = free_port()
            env.update({"ATELIER_PORT": str(port), "ATELIER_WORKERS": str(n)})
            name = f"{caller}-{store}-w{n}"
            server = serve(env, port)
            try:
                swarm(caller, env, port, out / name, args)
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
            with open(out / f"{name}_stats.csv") as fh:
                rows = [r for r in csv.DictReader(fh) if r["Name"] != "Aggregated"]
            title = (
                f"{caller}: store={store}, workers={n}, {args.users} users, {args.seconds} s, "
                f"demo shop ({customers} customers)"
            )
            tables.append(table(rows, title))
            (out / f"{name}.md").write_text(tables[-1])
        return tables
    finally:
        if store == "redis":
            import redis

            r = redis.Redis.from_url(args.redis_url)
            for key in r.scan_iter(match=f"{prefix}:*", count=1000):
                r.delete(key)
        shutil.rmtree(work, ignore_errors=True)


def swarm(
    caller: str, env: dict[str, str], port: int, csv_prefix: Path, args: argparse.Namespace
) -> None:
    """locust headless against the server; its CSV files start with ``csv_prefix``."""
    cmd = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "load" / "callers.py"),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.users),
        "-t",
        f"{args.seconds}s",
        "--host",
        f"http://127.0.0.1:{port}",
        "--csv",
        str(csv_prefix),
        "--only-summary",
        "--loglevel",
        "ERROR",
        *CALLERS[caller],
    ]
    proc = subprocess.run(cmd, env=env, check=False, capture_output=True, text=True)
    if not Path(f"{csv_prefix}_stats.csv").exists():
        raise SystemExit(f"locust failed ({proc.returncode}): {proc.stderr[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("caller", choices=sorted(CALLERS))
    parser.add_argument("--store", choices=["embedded", "redis"], default="embedded")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=45)
    parser.add_argument("--tenant", default="demo")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--out", default=str(ROOT / "data" / "load"), help="CSV and tables")
    parser.add_argument(
        "--matrix", action="store_true", help="both stores, 1 and 2 workers (four runs)"
    )
    args = parser.parse_args()
    runs = (
        [("embedded", [1, 2]), ("redis", [1, 2])] if args.matrix else [(args.store, [args.workers])]
    )
    tables = []
    for store, workers in runs:
        for md in run(args.caller, store, workers, args):
            print(md, flush=True)
            tables.append(md)
    if args.matrix:
        summary = Path(args.out) / f"{args.caller}-matrix.md"
        summary.write_text("\n".join(tables))
        print(f"written: {summary}")


if __name__ == "__main__":
    main()
