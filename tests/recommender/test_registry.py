"""The per-worker registry: follows activations and the catalog, refuses bad versions, and says
so on readiness (once in the logs, not per request or poll)."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from core.records import Item
from recommender.artifacts import save_version
from recommender.models import EASE, ItemKNN, Recommender
from recommender.registry import ModelRegistry, ServedModel
from store.embedded import SQLiteStore

ITEMS = [f"i{i}" for i in range(10)]


def matrix() -> sp.csr_matrix:
    dense = np.array([[(u + i) % 3 == 0 for i in range(10)] for u in range(20)], np.float32)
    return sp.csr_matrix(dense)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(tmp_path / "s.sqlite3")
    s.ensure_tenant("t")
    s.upsert_items("t", [Item(i, category="c") for i in ITEMS])
    yield s
    s.close()


@pytest.fixture
def publish(store: SQLiteStore, tmp_path: Path) -> Callable[..., str]:
    def make(model: Recommender | None = None, activate: bool = True) -> str:
        folder = save_version(
            tmp_path / "models", "t", (model or EASE(l2=1.0)).fit(matrix()), np.array(ITEMS), {}
        )
        store.publish_model("t", folder.name, {})
        if activate:
            store.activate_model("t", folder.name)
        return folder.name

    return make


def corrupt(root: Path, version: str) -> bytes:
    """Point an item-kNN neighbour outside the catalog (what segfaults scipy); returns the
    file's original bytes."""
    path = root / "models" / "t" / version / "sim_indices_.npy"
    original = path.read_bytes()
    indices = np.load(path)
    indices[0] = 10_000
    np.save(path, indices)
    return original


def wait_for(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def refusals(caplog: pytest.LogCaptureFixture, version: str) -> int:
    return sum(
        1 for r in caplog.records if "refused" in r.getMessage() and version in r.getMessage()
    )


def test_follows_activations_loading_beside_the_old_version(
    store: SQLiteStore, publish: Callable[..., str], tmp_path: Path
) -> None:
    loaded: list[str] = []

    def on_load(tenant: str, served: ServedModel) -> None:
        loaded.append(served.model.version)

    registry = ModelRegistry(store, tmp_path / "models", poll_s=0, on_load=on_load)
    v1 = publish()
    served = registry.model_for("t")
    assert served is not None and served.model.version == v1 and registry.served("t") is served
    v2 = publish(ItemKNN("cosine", K=3))
    assert registry.model_for("t") is served  # the old one serves while the new one loads
    wait_for(lambda: registry.model_for("t").model.version == v2)  # type: ignore[union-attr]
    wait_for(lambda: loaded == [v2])  # on_load runs just after the swap, on the loading thread
    assert loaded == [v2]
    registry.close()


def test_follows_the_catalog(
    store: SQLiteStore, publish: Callable[..., str], tmp_path: Path
) -> None:
    registry = ModelRegistry(store, tmp_path / "models", poll_s=0)
    publish()
    served = registry.model_for("t")
    assert served is not None
    store.delete_item("t", "i3")
    assert registry.model_for("t") is served
    assert not served.model.allowed(np.array([served.model.item_index["i3"]]))[0]
    store.upsert_items("t", [Item("new", category="c")])  # a new item: reloaded in the background
    registry.model_for("t")
    wait_for(lambda: "new" in registry.model_for("t").model.item_index)  # type: ignore[union-attr]
    registry.close()


def test_a_refused_version_keeps_the_old_one_and_is_reported_once(
    store: SQLiteStore,
    publish: Callable[..., str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = ModelRegistry(store, tmp_path / "models", poll_s=0)
    registry.preload()
    v1 = publish()
    assert registry.model_for("t").model.version == v1  # type: ignore[union-attr]
    assert registry.readiness().ready
    v2 = publish(ItemKNN("cosine", K=3), activate=False)
    corrupt(tmp_path, v2)
    store.activate_model("t", v2)  # another process activated it without validating
    caplog.set_level(logging.INFO, "atelier.recommender")
    wait_for(lambda: registry.model_for("t") is not None and not registry.readiness().ready)
    for _ in range(50):  # requests and poll ticks
        assert registry.model_for("t").model.version == v1  # type: ignore[union-attr]
    readiness = registry.readiness()
    assert not readiness.ready and len(readiness.problems) == 1
    problem = readiness.problems[0]
    assert f"model version '{v2}'" in problem and "sim_indices_" in problem
    assert problem.endswith(f"(serving '{v1}')")
    assert refusals(caplog, v2) == 1
    store.activate_model("t", v1)  # the roll-back
    assert registry.readiness().ready
    registry.close()


def test_a_corrupt_active_version_at_start_up_serves_none_until_repaired(
    store: SQLiteStore,
    publish: Callable[..., str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    version = publish(ItemKNN("cosine", K=3))
    original = corrupt(tmp_path, version)
    registry = ModelRegistry(store, tmp_path / "models", poll_s=0)
    caplog.set_level(logging.INFO, "atelier.recommender")
    registry.start()
    wait_for(lambda: registry.started)
    assert registry.model_for("t") is None and registry.served("t") is None
    readiness = registry.readiness()
    assert not readiness.ready and readiness.problems[0].endswith("(serving no model)")
    for _ in range(20):
        assert registry.model_for("t") is None
    assert refusals(caplog, version) == 1
    # the same version, repaired in place: tried again because its files changed
    (tmp_path / "models" / "t" / version / "sim_indices_.npy").write_bytes(original)
    assert registry.readiness().ready
    assert registry.model_for("t").model.version == version  # type: ignore[union-attr]
    registry.close()


def test_a_version_whose_folder_arrives_later(
    store: SQLiteStore, publish: Callable[..., str], tmp_path: Path
) -> None:
    """Published from another machine before its folder was copied here."""
    version = publish()
    folder = tmp_path / "models" / "t" / version
    shutil.move(folder, tmp_path / "elsewhere")
    registry = ModelRegistry(store, tmp_path / "models", poll_s=0)
    registry.preload()
    assert "meta.json is missing" in registry.readiness().problems[0]
    shutil.move(tmp_path / "elsewhere", folder)
    assert registry.readiness().ready and registry.served("t") is not None


def test_no_active_version_is_ready_and_serves_none(store: SQLiteStore, tmp_path: Path) -> None:
    registry = ModelRegistry(store, tmp_path / "models", poll_s=0)
    assert not registry.readiness().ready  # start-up loading has not run yet
    registry.preload()
    assert registry.readiness().ready and registry.model_for("t") is None
