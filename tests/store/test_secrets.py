"""Service secrets (the configurator's key): made once, read alike by every worker, on both
backends, even when several processes create it at the same moment."""

from __future__ import annotations

import subprocess
import sys
import threading

from store.base import Store
from store.redis import RedisStore
from store.sqlite import SQLiteStore
from tests.store.test_job_locks import twin

#: Opens the store the parent names and tries to create the secret with its own candidate.
CREATE = """
import sys
from store import open_store
backend, where, prefix, candidate = sys.argv[1:5]
if backend == "embedded":
    store = open_store("embedded", sqlite_path=where)
else:
    store = open_store("redis", redis_url=where, redis_prefix=prefix)
sys.stdin.readline()  # every process is started and connected: go at once
print(store.ensure_secret("race", candidate))
"""


def test_the_first_secret_stored_is_the_one_every_caller_reads(store: Store) -> None:
    assert store.ensure_secret("configurator", "first") == "first"
    assert store.ensure_secret("configurator", "second") == "first"
    other = twin(store)
    try:
        assert other.ensure_secret("configurator", "third") == "first"
        assert other.ensure_secret("another", "own") == "own"  # names are independent
    finally:
        other.close()


def test_connections_creating_it_at_once_agree(store: Store) -> None:
    stores = [twin(store) for _ in range(6)]
    got: list[str] = [""] * len(stores)
    go = threading.Barrier(len(stores))

    def create(k: int) -> None:
        go.wait()
        got[k] = stores[k].ensure_secret("race", f"candidate-{k}")

    threads = [threading.Thread(target=create, args=(k,)) for k in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert len(set(got)) == 1 and got[0].startswith("candidate-"), got


def test_processes_creating_it_at_once_agree(store: Store) -> None:
    if isinstance(store, SQLiteStore):
        where, prefix = str(store.path), ""
    else:
        assert isinstance(store, RedisStore)
        kw = store.r.connection_pool.connection_kwargs
        where, prefix = f"redis://{kw['host']}:{kw['port']}/{kw['db']}", store.prefix
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CREATE, store.backend, where, prefix, f"proc-{k}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    for p in procs:  # release them together
        assert p.stdin is not None
        p.stdin.write("\n")
        p.stdin.flush()
    answers = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(answers) == 1 and answers.pop().startswith("proc-")
    assert all(p.returncode == 0 for p in procs)
    assert store.ensure_secret("race", "late") != "late"
