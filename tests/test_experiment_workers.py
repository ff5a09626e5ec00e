"""Sticky experiment arms on the real server with two worker processes: every answer for a
customer, over fresh connections (spread over both workers by the shared listening socket),
names the same arm, the one the stable hash gives, and its version."""

from __future__ import annotations

from pathlib import Path

import httpx

from access.keys import create_key, parse_scopes
from core.records import Item
from recommender.artifacts import read_meta
from recommender.experiments import Experiment
from store.sqlite import SQLiteStore
from tests.faults.processes import Server
from tests.training.test_retrain import fill
from training.train import TrainConfig, train_from_frame


def _children(pid: int) -> list[int]:
    """Worker processes of the server (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out.append(int(entry.name))
    return out


def _cpu_ticks(pid: int) -> int:
    """User plus system clock ticks a process has used (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(stat[11]) + int(stat[12])


def test_each_customer_keeps_their_arm_across_two_workers(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    frame = fill(store)
    store.upsert_items("shop", [Item(i, category="c") for i in sorted(set(frame.item_id))])
    versions = []
    for model, params in (("popularity", {}), ("itemknn", {"kind": "cosine", "K": 20})):
        config = TrainConfig(model=model, params=params, progress=False)
        folder = train_from_frame(frame, config, tmp_path / "models", "shop")
        store.publish_model("shop", folder.name, read_meta(folder)["metrics"])
        versions.append(folder.name)
    _, secret = create_key(store, "shop", parse_scopes("recommend,admin"))
    store.close()
    server = Server(tmp_path, workers=2).start(ready=True)
    base = server.url
    headers = {"Authorization": f"Bearer {secret}"}
    try:
        assert server.proc is not None
        workers = _children(server.proc.pid)
        assert len(workers) >= 2  # two worker processes behind one socket
        body = {"arms": {"A": versions[0], "B": versions[1]}, "split": {"A": 0.5, "B": 0.5}}
        r = httpx.put(base + "/v1/experiments/ab", json=body, headers=headers, timeout=10)
        assert r.status_code == 200, r.text
        # the arm depends on tenant, experiment and customer only (the answer says RFC 3339 times)
        exp = Experiment.from_doc({**r.json(), "started_at": 0.0, "ended_at": None})
        before: dict[int, int] = {}
        customers = [*sorted(set(frame.customer_id.tolist()))[:40], "never-seen-1", "never-seen-2"]
        arms: dict[str, set[str]] = {c: set() for c in customers}
        for round_ in range(4):
            if round_ == 1:  # after a first round that loaded the arms in both workers
                before = {w: _cpu_ticks(w) for w in workers}
            for cid in customers:
                # a fresh connection each time: the kernel hands it to either worker
                r = httpx.get(
                    f"{base}/v1/customers/{cid}/recommendations",
                    headers={**headers, "Connection": "close"},
                    timeout=10,
                )
                assert r.status_code == 200, r.text
                answer = r.json()
                arm = answer["experiment"]["arm"]
                assert answer["model_version"] == body["arms"][arm]
                arms[cid].add(arm)
        assert all(got == {exp.assign("shop", cid)} for cid, got in arms.items()), arms
        # both workers answered: each spent CPU time on the last three rounds (the third child
        # process, the supervisor, spends none)
        used = sorted((_cpu_ticks(w) - before[w] for w in workers), reverse=True)
        assert used[1] >= 3, used
        assert {a for got in arms.values() for a in got} == {"A", "B"}
    finally:
        server.stop()
