"""Check a version folder before it is activated or loaded: a bad model file is refused, never served.

scipy and numpy trust the arrays they are given: an item-kNN index out of range reads outside
its arrays (a segfault, not an exception), a NaN in a factor matrix turns every score into NaN
(answers silently empty). So before a version is activated (``POST /v1/models/{v}/activate``)
and again before any worker loads it (a version activated by another process, or damaged on
disk after activation), :func:`validate_version` checks:

- ``meta.json`` and ``model.json`` parse, name a known family that agrees between the two, with
  parameters the family accepts and ``n_items``;
- every file ``meta.json`` lists under ``files`` is present with its SHA-256, shape and dtype,
  and every file the family needs is listed;
- every array opens without pickle (no object arrays), with the shapes and dtypes its family
  expects for ``n_items`` (``Recommender.check_arrays``: factors ``n_items x f``, EASE
  ``n x n``, item-kNN CSR arrays with a monotone ``indptr`` and indices in range);
- item ids are fixed-width strings, one per item, unique; popularity and segment popularity
  match the items; every float array is finite (no NaN, no infinity).

Versions published before checksums were recorded (no ``files`` in ``meta.json``) are checked
structurally, as above, and accepted with a warning (:attr:`CheckedVersion.warnings`): the
structural checks are what keeps a worker from crashing or serving NaN, and refusing them would
make every version published before the upgrade impossible to roll back to. What they cannot
prove is that their files are the ones that were published.

Examples
--------
>>> import tempfile, scipy.sparse as sp
>>> from recommender.artifacts import save_version
>>> from recommender.models import Popularity
>>> folder = save_version(tempfile.mkdtemp(), "t", Popularity().fit(sp.csr_matrix([[1.0, 0.0]])),
...                       np.array(["a", "b"]), {})
>>> validate_version(folder).family.family
'popularity'
>>> np.save(folder / "item_ids.npy", np.array(["a", "a"]))
>>> try:
...     validate_version(folder)
... except InvalidVersion as exc:
...     exc.problems
['item_ids.npy does not match its checksum', 'item_ids.npy holds duplicate item ids']
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import Conflict
from recommender.artifacts import file_sha256
from recommender.interactions import InteractionWeights
from recommender.models import FAMILIES, Recommender

#: Files every version has besides the family's arrays (``meta.json`` holds the checksums).
_ALWAYS = ("model.json", "item_ids.npy")
_SEGMENT_FILES = ("segment_names.npy", "segment_popularity.npy")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_CHUNK = 1 << 20  # elements per finiteness check: bounded memory on memory-mapped arrays


class InvalidVersion(Conflict):
    """A version folder that must not be activated or loaded; ``problems`` say why."""

    def __init__(self, version: str, problems: list[str]) -> None:
        super().__init__(f"model version '{version}' failed validation: " + "; ".join(problems))
        self.version = version
        self.problems = problems


@dataclass
class CheckedVersion:
    """A version folder that passed :func:`validate_version`."""

    folder: Path
    meta: dict[str, Any]
    family: type[Recommender]
    n_items: int
    #: Accepted, but worth an operator's attention (e.g. no checksums recorded).
    warnings: list[str] = field(default_factory=list)


def validate_version(folder: str | Path) -> CheckedVersion:
    """Check a version folder (see the module docstring); raises :class:`InvalidVersion`
    listing every problem found."""
    folder = Path(folder)
    problems: list[str] = []
    meta = _read_json(folder / "meta.json", problems)
    model_meta = _read_json(folder / "model.json", problems)
    family, n_items = _family(meta, model_meta, problems)
    if family is None or n_items is None or meta is None:
        raise InvalidVersion(folder.name, problems)
    needed = [f"{name}.npy" for name in family.array_names] + list(_ALWAYS)
    needed += [f for f in ("popularity.npy", *_SEGMENT_FILES) if (folder / f).exists()]
    warnings: list[str] = []
    manifest = meta.get("files")
    if manifest is None:
        warnings.append("no checksums recorded (published before they were): checked structurally")
    else:
        problems += _check_manifest(folder, manifest, needed)
    arrays = _open_arrays(folder, [n for n in needed if n.endswith(".npy")], problems)
    if isinstance(manifest, dict):
        problems += _against_manifest(arrays, manifest)
    model_arrays = {n: arrays.get(f"{n}.npy") for n in family.array_names}
    present = {n: a for n, a in model_arrays.items() if a is not None}
    if len(present) == len(model_arrays):
        problems += family.check_arrays(present, n_items)
    problems += _check_items(arrays, n_items)
    problems += _check_serving_meta(meta)
    problems += [f"{name} holds NaN or infinite values" for name in _not_finite(arrays)]
    if problems:
        raise InvalidVersion(folder.name, problems)
    return CheckedVersion(folder, meta, family, n_items, warnings)


def _check_serving_meta(meta: dict[str, Any]) -> list[str]:
    """What serving reads from ``meta.json`` besides the arrays: the weighting that builds a
    customer's row and the time its decay counts from."""
    problems = []
    weights = meta.get("weights")
    if weights is not None:
        try:
            InteractionWeights.from_dict(weights)
        except (TypeError, ValueError) as exc:
            problems.append(f"meta.json weights are not a weighting ({exc})")
    as_of = meta.get("decay_as_of")
    if as_of is not None and (
        not isinstance(as_of, int | float) or isinstance(as_of, bool) or not math.isfinite(as_of)
    ):
        problems.append(f"meta.json decay_as_of is not a finite time ({as_of!r})")
    return problems


def _read_json(path: Path, problems: list[str]) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        problems.append(f"{path.name} is missing")
        return None
    except (OSError, ValueError) as exc:
        problems.append(f"{path.name} cannot be read ({exc})")
        return None
    if not isinstance(value, dict):
        problems.append(f"{path.name} is not a JSON object")
        return None
    return value


def _family(
    meta: dict[str, Any] | None, model_meta: dict[str, Any] | None, problems: list[str]
) -> tuple[type[Recommender] | None, int | None]:
    """The family class and item count the two JSON files agree on (None when they do not)."""
    if meta is None or model_meta is None:
        return None, None
    name = model_meta.get("family")
    family = FAMILIES.get(name) if isinstance(name, str) else None
    n_items = model_meta.get("n_items")
    params = model_meta.get("params")
    if family is None:
        problems.append(f"model.json names an unknown family {name!r}")
    elif meta.get("family", name) != name:
        problems.append(f"meta.json says family {meta.get('family')!r}, model.json {name!r}")
    if not isinstance(n_items, int) or isinstance(n_items, bool) or n_items < 0:
        problems.append(f"model.json has no valid n_items ({n_items!r})")
        n_items = None
    elif meta.get("n_items", n_items) != n_items:
        problems.append(f"meta.json says {meta.get('n_items')!r} items, model.json {n_items}")
    if not isinstance(params, dict):
        problems.append("model.json has no params object")
    elif family is not None:
        try:
            family(**params)
        except (TypeError, ValueError) as exc:
            problems.append(f"model.json params do not fit {name}: {exc}")
    if problems:
        return None, None
    return family, n_items


def _check_manifest(folder: Path, manifest: Any, needed: list[str]) -> list[str]:
    """Every listed file present with its checksum, shape and dtype; every needed file listed."""
    if not isinstance(manifest, dict) or not all(isinstance(v, dict) for v in manifest.values()):
        return ["meta.json files is not an object of file entries"]
    problems = [
        f"{name} is not listed in meta.json files" for name in needed if name not in manifest
    ]
    for name, entry in sorted(manifest.items()):
        path = folder / name
        if not _PLAIN_NAME.match(name) or name in (".", ".."):
            problems.append(f"meta.json files lists an invalid file name {name!r}")
        elif not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != entry.get("bytes", path.stat().st_size):
            problems.append(
                f"{name} has {path.stat().st_size} bytes, {entry.get('bytes')} were published"
            )
        elif file_sha256(path) != entry.get("sha256"):
            problems.append(f"{name} does not match its checksum")
    return problems


def _against_manifest(arrays: dict[str, np.ndarray], manifest: dict[str, Any]) -> list[str]:
    """Shapes and dtypes as published (a changed header without a changed checksum is only
    possible if ``meta.json`` was edited, which this catches too)."""
    problems = []
    for name, arr in arrays.items():
        entry = manifest.get(name)
        if not isinstance(entry, dict):
            continue
        shape, dtype = entry.get("shape"), entry.get("dtype")
        if shape is not None and list(arr.shape) != shape:
            problems.append(f"{name} has shape {arr.shape}, {tuple(shape)} was published")
        if dtype is not None and arr.dtype.str != dtype:
            problems.append(f"{name} has dtype {arr.dtype.str}, {dtype} was published")
    return problems


def _open_arrays(folder: Path, names: list[str], problems: list[str]) -> dict[str, np.ndarray]:
    """Memory-map each array without pickle; an array that cannot be opened is a problem."""
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        path = folder / name
        if not path.is_file():
            if f"{name} is missing" not in problems:
                problems.append(f"{name} is missing")
            continue
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            problems.append(f"{name} cannot be read as an array without pickle ({exc})")
            continue
        if not isinstance(arr, np.ndarray) or arr.dtype.hasobject:
            problems.append(f"{name} is not a plain numeric or string array")
            continue
        arrays[name] = arr
    return arrays


def _check_items(arrays: dict[str, np.ndarray], n_items: int) -> list[str]:
    """Item ids, popularity and segment popularity against ``n_items``."""
    problems: list[str] = []
    ids = arrays.get("item_ids.npy")
    if ids is not None:
        if ids.shape != (n_items,) or ids.dtype.kind != "U":
            problems.append(
                f"item_ids.npy is {ids.dtype} {ids.shape}, expected {n_items} unicode strings"
            )
        elif len(np.unique(ids)) != n_items:
            problems.append("item_ids.npy holds duplicate item ids")
    pop = arrays.get("popularity.npy")
    if pop is not None and (pop.shape != (n_items,) or pop.dtype.kind != "f"):
        problems.append(f"popularity.npy is {pop.dtype} {pop.shape}, expected {n_items} floats")
    names, seg = (arrays.get(f) for f in _SEGMENT_FILES)
    if (names is None) != (seg is None):
        problems.append("segment_names.npy and segment_popularity.npy come together")
    elif names is not None and seg is not None:
        if names.ndim != 1 or names.dtype.kind != "U" or len(np.unique(names)) != len(names):
            problems.append("segment_names.npy is not a list of distinct strings")
        elif seg.shape != (len(names), n_items) or seg.dtype.kind != "f":
            problems.append(
                f"segment_popularity.npy is {seg.dtype} {seg.shape}, "
                f"expected floats ({len(names)} x {n_items})"
            )
    return problems


def _not_finite(arrays: dict[str, np.ndarray]) -> list[str]:
    """Names of the float arrays holding a NaN or an infinity (checked in bounded chunks)."""
    bad = []
    for name, arr in arrays.items():
        if arr.dtype.kind != "f":
            continue
        flat = arr.reshape(-1)
        if not all(np.isfinite(flat[i : i + _CHUNK]).all() for i in range(0, flat.size, _CHUNK)):
            bad.append(name)
    return bad
