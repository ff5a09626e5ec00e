"""A bad model file is refused, never loaded: every family against every kind of damage.

Each test publishes a tiny version of a family, damages it the way a bad publisher, a bad disk
or a bad copy would, and checks that :func:`validate_version` (and so ``LoadedModel.load``)
refuses it and says what is wrong. "Re-signed" damage updates the checksums too (a publisher
that wrote bad arrays), so that the structural checks are tested on their own.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.artifacts import file_manifest, file_sha256, read_meta, save_version
from recommender.models import ALS, BPR, EASE, ItemKNN, Popularity, Recommender
from recommender.serving import LoadedModel
from recommender.validation import InvalidVersion, validate_version

N_ITEMS = 12
FAMILIES: dict[str, Callable[[], Recommender]] = {
    "als": lambda: ALS(factors=3, iterations=2, random_state=0),
    "bpr": lambda: BPR(factors=3, iterations=5, num_threads=1, random_state=0),
    "ease": lambda: EASE(l2=1.0),
    "itemknn": lambda: ItemKNN(kind="cosine", K=4),
    "popularity": lambda: Popularity(),
}
#: The family's main float array (the one NaN, wrong shapes and truncation go into).
MAIN = {
    "als": "item_factors_",
    "bpr": "item_factors_",
    "ease": "B_",
    "itemknn": "sim_data_",
    "popularity": "popularity_",
}


def matrix() -> sp.csr_matrix:
    rows, cols = zip(
        *[(u, i) for u in range(30) for i in range(N_ITEMS) if (u + i) % 3], strict=True
    )
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(30, N_ITEMS))


@pytest.fixture(params=sorted(FAMILIES))
def family(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def folder(family: str, tmp_path: Path) -> Path:
    x = matrix()
    return save_version(
        tmp_path,
        "t",
        FAMILIES[family]().fit(x),
        np.array([f"i{i}" for i in range(N_ITEMS)]),
        {},
        popularity=Popularity().fit(x).popularity_,
        segments=(np.array(["s1", "s2"]), np.ones((2, N_ITEMS), np.float32)),
    )


def resign(folder: Path) -> None:
    """Record the current files' checksums, as a publisher that wrote them would (with the
    shape and dtype of the arrays that still open)."""
    meta = read_meta(folder)
    files = {}
    for path in sorted(folder.iterdir()):
        if path.name != "meta.json":
            files[path.name] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
    with contextlib.suppress(ValueError):  # an array that does not open: checksums only
        files.update(file_manifest(folder))
    meta["files"] = files
    (folder / "meta.json").write_text(json.dumps(meta))


def put(folder: Path, name: str, arr: np.ndarray, *, signed: bool = True) -> None:
    np.save(folder / name, arr, allow_pickle=arr.dtype == object)
    if signed:
        resign(folder)


def refused(folder: Path, *expected: str) -> list[str]:
    """Validation and loading both refuse the folder; every ``expected`` text is in a problem."""
    with pytest.raises(InvalidVersion) as info:
        validate_version(folder)
    problems = info.value.problems
    for text in expected:
        assert any(text in p for p in problems), (text, problems)
    assert f"'{folder.name}'" in str(info.value)
    with pytest.raises(InvalidVersion):
        LoadedModel.load(folder)
    return problems


def main_array(folder: Path, family: str) -> np.ndarray:
    return np.array(np.load(folder / f"{MAIN[family]}.npy"))


def test_a_published_version_passes(folder: Path, family: str) -> None:
    checked = validate_version(folder)
    assert checked.family.family == family and checked.n_items == N_ITEMS
    assert checked.warnings == []
    files = read_meta(folder)["files"]
    assert {f"{MAIN[family]}.npy", "item_ids.npy", "model.json", "popularity.npy"} <= set(files)
    assert all(len(e["sha256"]) == 64 for e in files.values())
    assert files["item_ids.npy"]["shape"] == [N_ITEMS]
    assert LoadedModel.load(folder).n_items == N_ITEMS


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_infinity_in_the_model(folder: Path, family: str, value: float) -> None:
    arr = main_array(folder, family)
    arr.reshape(-1)[len(arr.reshape(-1)) // 2] = value
    put(folder, f"{MAIN[family]}.npy", arr)
    refused(folder, f"{MAIN[family]}.npy holds NaN or infinite values")


def test_nan_in_the_popularity(folder: Path) -> None:
    pop = np.load(folder / "popularity.npy")
    pop[3] = np.nan
    put(folder, "popularity.npy", pop)
    refused(folder, "popularity.npy holds NaN")


def test_wrong_shape(folder: Path, family: str) -> None:
    arr = main_array(folder, family)
    put(folder, f"{MAIN[family]}.npy", arr[:-1])  # one item (or one neighbour) short
    refused(folder, "has shape")


def test_wrong_dtype(folder: Path, family: str) -> None:
    put(folder, f"{MAIN[family]}.npy", main_array(folder, family).astype(np.int64))
    refused(folder, f"{MAIN[family]} has dtype int64")


def test_truncated_file(folder: Path, family: str) -> None:
    path = folder / f"{MAIN[family]}.npy"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 8])
    refused(folder, f"{MAIN[family]}.npy has")  # fewer bytes than published
    resign(folder)
    refused(folder, f"{MAIN[family]}.npy cannot be read")


def test_missing_file(folder: Path, family: str) -> None:
    (folder / f"{MAIN[family]}.npy").unlink()
    refused(folder, f"{MAIN[family]}.npy is missing")
    resign(folder)  # no longer listed either
    refused(folder, f"{MAIN[family]}.npy is missing", f"{MAIN[family]}.npy is not listed")


def test_checksum_mismatch(folder: Path, family: str) -> None:
    arr = main_array(folder, family)
    arr.reshape(-1)[0] += 1.0  # same shape, same size, another value
    put(folder, f"{MAIN[family]}.npy", arr, signed=False)
    assert refused(folder) == [f"{MAIN[family]}.npy does not match its checksum"]


def test_object_arrays_and_pickle(folder: Path) -> None:
    put(folder, "item_ids.npy", np.array([f"i{i}" for i in range(N_ITEMS)], dtype=object))
    refused(folder, "item_ids.npy cannot be read as an array without pickle")


def test_duplicate_item_ids(folder: Path) -> None:
    put(folder, "item_ids.npy", np.array(["i0"] + [f"i{i}" for i in range(N_ITEMS - 1)]))
    refused(folder, "item_ids.npy holds duplicate item ids")


def test_segments_must_match(folder: Path) -> None:
    put(folder, "segment_popularity.npy", np.ones((3, N_ITEMS), np.float32))
    refused(folder, "segment_popularity.npy")
    (folder / "segment_names.npy").unlink()
    resign(folder)
    refused(folder, "come together")


def test_item_count_must_agree(folder: Path) -> None:
    meta = read_meta(folder)
    meta["n_items"] = N_ITEMS + 1
    (folder / "meta.json").write_text(json.dumps(meta))
    refused(folder, f"meta.json says {N_ITEMS + 1} items, model.json {N_ITEMS}")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"weights": {"half_life_days": -3}}, "weights are not a weighting"),
        ({"weights": {"shiny": True}}, "weights are not a weighting"),
        ({"decay_as_of": "yesterday"}, "decay_as_of is not a finite time"),
        ({"decay_as_of": float("inf")}, "decay_as_of is not a finite time"),
        ({"decay_as_of": True}, "decay_as_of is not a finite time"),
    ],
)
def test_what_serving_reads_from_the_metadata(
    folder: Path, entry: dict[str, object], problem: str
) -> None:
    meta = read_meta(folder)
    validate_version(folder)  # the version as published passes
    (folder / "meta.json").write_text(json.dumps({**meta, **entry}))
    refused(folder, problem)


def test_unknown_family_or_parameters(folder: Path) -> None:
    model = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**model, "params": {"nope": 1}}))
    resign(folder)
    refused(folder, "params do not fit")
    (folder / "model.json").write_text(json.dumps({**model, "family": "deep"}))
    resign(folder)
    refused(folder, "unknown family 'deep'")


def test_unreadable_metadata(folder: Path) -> None:
    (folder / "meta.json").write_text("{not json")
    refused(folder, "meta.json cannot be read")
    (folder / "meta.json").unlink()
    refused(folder, "meta.json is missing")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d, i, p: (d, np.where(i == i.max(), N_ITEMS, i), p), "outside [0, 12)"),
        (lambda d, i, p: (d, np.where(i == i.max(), -1, i), p), "outside [0, 12)"),
        (lambda d, i, p: (d, i, p[::-1].copy()), "sim_indptr_"),
        (lambda d, i, p: (d, i, np.concatenate([p[:3], p[4:5], p[3:4], p[5:]])), "not monotone"),
        (lambda d, i, p: (d[:-1], i[:-1], p), "sim_indptr_ runs from"),
        (lambda d, i, p: (d, i.astype(np.float32), p), "sim_indices_ has dtype float32"),
    ],
    ids=[
        "index-too-big",
        "index-negative",
        "indptr-reversed",
        "indptr-not-monotone",
        "indptr-overruns",
        "float-indices",
    ],
)
def test_item_knn_csr_structure(
    tmp_path: Path, change: Callable[..., tuple[np.ndarray, ...]], problem: str
) -> None:
    """The arrays scipy would trust: an index out of range segfaults a worker in scipy."""
    folder = save_version(
        tmp_path, "t", ItemKNN("cosine", K=4).fit(matrix()), np.arange(N_ITEMS).astype(str), {}
    )
    arrays = [np.load(folder / f"sim_{n}_.npy") for n in ("data", "indices", "indptr")]
    for name, arr in zip(("data", "indices", "indptr"), change(*arrays), strict=True):
        np.save(folder / f"sim_{name}_.npy", arr)
    resign(folder)
    refused(folder, problem)


def test_versions_without_checksums_are_checked_structurally(folder: Path, family: str) -> None:
    """Published before checksums existed: accepted with a warning when sound, refused when
    not (the structural checks are what keep a worker from crashing or serving NaN)."""
    meta = read_meta(folder)
    del meta["files"]
    (folder / "meta.json").write_text(json.dumps(meta))
    checked = validate_version(folder)
    assert checked.warnings and "no checksums" in checked.warnings[0]
    assert LoadedModel.load(folder).warnings == checked.warnings
    arr = main_array(folder, family)
    arr.reshape(-1)[0] = np.nan
    np.save(folder / f"{MAIN[family]}.npy", arr)
    refused(folder, "NaN")


def test_every_problem_is_listed(folder: Path, family: str) -> None:
    pop = np.load(folder / "popularity.npy")
    pop[0] = np.inf
    put(folder, "popularity.npy", pop, signed=False)
    (folder / "item_ids.npy").unlink()
    problems = refused(folder)
    assert "item_ids.npy is missing" in problems
    assert "popularity.npy does not match its checksum" in problems
    assert "popularity.npy holds NaN or infinite values" in problems
