"""The retraining job: fair comparison, promote/keep, the lock, atomic publish, the CLI summary."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from cli.main import main
from core.errors import Conflict
from core.records import Event, EventFrame
from recommender.artifacts import read_meta, version_folder
from recommender.versions import ModelVersions
from store.base import Store
from store.sqlite import SQLiteStore
from training.retrain import (
    EXIT_BUSY,
    EXIT_EXPERIMENT,
    EXIT_FAILED,
    EXIT_KEPT,
    EXIT_PROMOTED,
    LOCK_JOB,
    RetrainBusy,
    RetrainOptions,
    retrain,
)
from training.train import TrainConfig, train_from_frame

DAY = 86400.0
T0 = 1.7e9


def clustered_events(n_clusters: int = 8, per_cluster: int = 30, seed: int = 3) -> list[Event]:
    """Customers of a cluster buy only that cluster's items, over 120 days: co-occurrence
    models (item-kNN) see it, popularity cannot, so the better model is obvious."""
    rng = np.random.default_rng(seed)
    events = []
    for g in range(n_clusters):
        for c in range(per_cluster):
            cust = f"c{g}-{c}"
            for k, item in enumerate(rng.choice(10, size=6, replace=False)):
                ts = T0 + float(rng.uniform(0, 120)) * DAY
                events.append(Event(f"{cust}-{k}", cust, "purchase", ts, item_id=f"g{g}-i{item}"))
    return events


def fill(store: Store, tenant: str = "shop") -> EventFrame:
    events = clustered_events()
    store.add_events(tenant, events, [4.0] * len(events))
    return EventFrame.from_events(events)


def publish_active(store: Store, root: Path, frame: EventFrame, model: str, params: dict) -> str:
    """An active version trained on the first 90 days only (the later events are fresh)."""
    before = frame.select(frame.timestamp < T0 + 90 * DAY)
    folder = train_from_frame(
        before, TrainConfig(model=model, params=params, progress=False), root, "shop"
    )
    store.publish_model("shop", folder.name, read_meta(folder)["metrics"])
    assert store.activate_model("shop", folder.name)
    return folder.name


KNN = TrainConfig(model="itemknn", params={"kind": "cosine", "K": 20}, progress=False)
POP = TrainConfig(model="popularity", progress=False)


def test_a_clearly_better_candidate_is_promoted(store: Store, tmp_path: Path) -> None:
    frame = fill(store)
    old = publish_active(store, tmp_path, frame, "popularity", {})
    result = retrain(store, tmp_path, "shop", KNN, RetrainOptions(margin=0.05))
    assert result.status == "promoted" and result.exit_code == EXIT_PROMOTED
    assert result.active_before == old and result.active_after == result.version
    assert store.active_model("shop") == result.version
    cmp = result.comparison
    # both scored on the same fresh slice: only events after the active version's data
    assert cmp["fresh"] is True and cmp["against"] == old
    assert cmp["candidate"]["users"] == cmp["active"]["users"] > 0
    assert cmp["candidate"]["ndcg@10"] > 2 * cmp["active"]["ndcg@10"]
    meta = read_meta(version_folder(tmp_path, "shop", result.version))
    assert meta["comparison"]["decision"] == "promoted"
    assert meta["metrics"]["validation"] == cmp["candidate"]
    assert meta["family"] == "itemknn" and meta["data_window"]["last_event"] is not None


def test_a_worse_candidate_is_published_but_kept(store: Store, tmp_path: Path) -> None:
    frame = fill(store)
    old = publish_active(store, tmp_path, frame, "itemknn", {"kind": "cosine", "K": 20})
    result = retrain(store, tmp_path, "shop", POP, RetrainOptions())
    assert result.status == "kept" and result.exit_code == EXIT_KEPT
    assert store.active_model("shop") == old
    assert [m.version for m in store.list_models("shop")] == [old, result.version]
    assert result.comparison["candidate"]["ndcg@10"] < result.comparison["active"]["ndcg@10"]
    assert "does not beat" in result.reason


def test_promote_always_and_never_override_the_comparison(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    frame = fill(store)
    old = publish_active(store, tmp_path, frame, "itemknn", {"kind": "cosine", "K": 20})
    never = retrain(store, tmp_path, "shop", KNN, RetrainOptions(promote="never"))
    assert never.status == "kept" and store.active_model("shop") == old
    always = retrain(store, tmp_path, "shop", POP, RetrainOptions(promote="always"))
    assert always.status == "promoted" and store.active_model("shop") == always.version
    store.close()


def test_a_tenant_without_a_model_gets_its_first_one(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    fill(store)
    result = retrain(store, tmp_path, "shop", KNN, RetrainOptions(promote="if-better"))
    assert result.status == "promoted" and result.reason == "no active version"
    assert result.comparison["active"] is None and result.comparison["candidate"]["users"] > 0
    store.close()


def test_no_fresh_events_means_kept_when_only_if_better(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    frame = fill(store)
    folder = train_from_frame(frame, POP, tmp_path, "shop")  # has seen every event
    store.publish_model("shop", folder.name, {})
    result = retrain(store, tmp_path, "shop", KNN, RetrainOptions())
    assert result.status == "kept" and "no fresh events" in result.reason
    store.close()


def test_a_window_limits_the_training_events(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    fill(store)
    since, until = T0 + 30 * DAY, T0 + 100 * DAY
    result = retrain(store, tmp_path, "shop", POP, RetrainOptions(since=since, until=until))
    meta = read_meta(version_folder(tmp_path, "shop", result.version))
    window = {k: datetime.fromisoformat(v).timestamp() for k, v in meta["data_window"].items()}
    assert since <= window["first_event"] < window["last_event"] < until
    assert datetime.fromisoformat(meta["requested_window"]["until"]).timestamp() == until
    store.close()


def test_two_runs_of_one_tenant_never_overlap(store: Store, tmp_path: Path) -> None:
    fill(store)
    token = store.acquire_job_lock("shop", LOCK_JOB, 60)
    assert token is not None
    with pytest.raises(RetrainBusy):
        retrain(store, tmp_path, "shop", POP)
    assert store.list_models("shop") == []
    assert store.release_job_lock("shop", LOCK_JOB, token)
    assert retrain(store, tmp_path, "shop", POP).status == "promoted"
    # the lock was released after the run
    again = store.acquire_job_lock("shop", LOCK_JOB, 60)
    assert again is not None and store.release_job_lock("shop", LOCK_JOB, again)


KILLED_PUBLISH = """
import os, signal, sys
import scipy.sparse as sp
import numpy as np
from recommender.artifacts import save_version
from recommender.models import Popularity

class Dies(Popularity):
    def save(self, folder):
        super().save(folder)          # some arrays are written ...
        os.kill(os.getpid(), signal.SIGKILL)   # ... and the publisher is killed

m = Dies().fit(sp.csr_matrix(np.ones((2, 3), dtype=np.float32)))
save_version(sys.argv[1], "shop", m, np.array(["a", "b", "c"]), {"fingerprint": "x"})
"""


def test_a_killed_publish_leaves_no_version(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", KILLED_PUBLISH, str(tmp_path)], check=False)
    assert proc.returncode == -9
    tenant_dir = tmp_path / "shop"
    leftovers = list(tenant_dir.iterdir())
    assert leftovers and all(p.name.startswith(".tmp-") for p in leftovers)
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    assert ModelVersions(store, tmp_path).list("shop").versions == []
    fill(store)
    result = retrain(store, tmp_path, "shop", POP)  # cleans the dead publisher's temp folder
    assert [p.name for p in tenant_dir.iterdir()] == [result.version]
    store.close()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SQLiteStore:
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATELIER_STORE", "embedded")
    return SQLiteStore(tmp_path / "atelier.sqlite3")


def _summary(capsys: pytest.CaptureFixture[str]) -> dict:
    return json.loads(capsys.readouterr().out)


def test_cli_exit_codes_and_one_json_summary(
    cli_env: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["retrain", "--tenant", "shop", "--no-progress"]
    assert main(argv) == EXIT_FAILED  # no events yet: nothing published
    assert _summary(capsys)["status"] == "failed" and cli_env.list_models("shop") == []
    fill(cli_env)
    knn = ["--model", "itemknn", "--param", "kind=cosine", "--param", "K=20"]
    assert main([*argv, *knn]) == EXIT_PROMOTED
    first = _summary(capsys)
    assert first["status"] == "promoted" and first["active_after"] == first["version"]
    assert main([*argv, "--model", "popularity", "--promote", "never"]) == EXIT_KEPT
    kept = _summary(capsys)
    assert kept["status"] == "kept" and kept["active_after"] == first["version"]
    token = cli_env.acquire_job_lock("shop", LOCK_JOB, 60)
    assert token is not None
    assert main(argv) == EXIT_BUSY
    assert _summary(capsys)["status"] == "busy"
    cli_env.release_job_lock("shop", LOCK_JOB, token)
    with pytest.raises(SystemExit) as refused:  # argparse refuses it
        main([*argv, "--promote", "sometimes"])
    assert refused.value.code == 2
    capsys.readouterr()
    assert main([*argv, "--margin", "-1"]) == EXIT_FAILED
    assert "margin" in _summary(capsys)["error"]


def test_train_publish_says_what_it_did(
    cli_env: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(cli_env)
    argv = ["train", "--tenant", "shop", "--model", "popularity", "--publish", "--no-progress"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["published"] and first["activated"] and first["active"] == first["version"]
    assert main(argv) == 0
    out = capsys.readouterr()
    second = json.loads(out.out)
    assert second["published"] and not second["activated"]
    assert second["active"] == first["version"] and "not activated" in out.err
    assert main(["train", "--tenant", "shop", "--model", "popularity", "--no-progress"]) == 0
    third = json.loads(capsys.readouterr().out)
    assert third["published"] is False and third["activated"] is False


def test_experiment_starts_an_ab_test_instead_of_promoting(store: Store, tmp_path: Path) -> None:
    frame = fill(store)
    old = publish_active(store, tmp_path, frame, "popularity", {})
    result = retrain(store, tmp_path, "shop", KNN, RetrainOptions(experiment=0.2))
    assert result.status == "experiment" and result.exit_code == EXIT_EXPERIMENT
    assert store.active_model("shop") == old  # not promoted: the test decides
    exp = result.experiment
    assert exp is not None and exp["arms"] == {"active": old, "candidate": result.version}
    running = store.running_experiment("shop")
    assert running is not None and running[0] == exp["experiment_id"]
    assert running[1]["split"] == {"active": 0.8, "candidate": 0.2}
    # a second one cannot start while it runs: the run fails, its candidate stays unpromoted
    with pytest.raises(Conflict):
        retrain(store, tmp_path, "shop", KNN, RetrainOptions(experiment=0.2))
    assert store.active_model("shop") == old
    with pytest.raises(ValueError):
        RetrainOptions(experiment=1.0)


def test_cli_experiment_exit_code(cli_env: SQLiteStore, capsys: pytest.CaptureFixture[str]) -> None:
    frame = fill(cli_env)
    publish_active(cli_env, Path(cli_env.path).parent / "models", frame, "popularity", {})
    argv = ["retrain", "--tenant", "shop", "--model", "popularity", "--no-progress"]
    assert main([*argv, "--experiment", "0.5"]) == EXIT_EXPERIMENT
    summary = _summary(capsys)
    assert summary["status"] == "experiment" and summary["experiment"]["split"]["candidate"] == 0.5


def test_auto_retrain_uses_the_search_of_train_and_its_weighting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import training.retrain as job
    from recommender.interactions import InteractionWeights

    calls: list[TrainConfig] = []
    real = job.choose

    def spy(frame: EventFrame, config: TrainConfig, active: Path | None = None):  # type: ignore[no-untyped-def]
        calls.append(config)
        validation, _, family, params, trials = real(frame, config, active)
        return validation, InteractionWeights(binary=True), family, params, trials

    monkeypatch.setattr(job, "choose", spy)
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    fill(store)
    config = TrainConfig(families=("popularity", "itemknn"), progress=False)
    result = retrain(store, tmp_path, "shop", config, RetrainOptions())
    assert len(calls) == 1 and calls[0].search_weights  # one search, the weighting searched
    meta = read_meta(version_folder(tmp_path, "shop", result.version))
    # the chosen weighting is the one compared and the one the version is refitted with
    assert result.comparison["weights"]["binary"] is True and meta["weights"]["binary"] is True
    store.close()


def test_evaluate_auto_uses_the_search_of_train(monkeypatch: pytest.MonkeyPatch) -> None:
    import training.evaluate as job

    calls: list[tuple[str, ...]] = []
    real = job.choose

    def spy(frame: EventFrame, config: TrainConfig, active: Path | None = None):  # type: ignore[no-untyped-def]
        calls.append(tuple(config.families))
        return real(frame, config, active)

    monkeypatch.setattr(job, "choose", spy)
    frame = EventFrame.from_events(clustered_events())
    cut = T0 + 100 * DAY
    payload = job.evaluate_command(
        frame, "temporal", ["itemknn", "auto"], None, cut=cut, progress=False
    )
    assert calls[0] == ("itemknn",) and len(calls[1]) > 1
    auto = payload["results"]["auto"]
    assert auto["weighting"] and auto["validation_plan"]["scheme"] in ("temporal", "holdout")
    assert auto["test"]["ndcg@10"] > 0
