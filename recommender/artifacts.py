"""Versioned model folders: ``<root>/<tenant>/<version>/`` with ``*.npy`` arrays and ``meta.json``.

A folder holds the model's arrays (see ``Recommender.save``), ``item_ids.npy`` (a fixed-width
unicode array, never an object array), the global ``popularity.npy``, the optional per-segment
popularity (``segment_names.npy``, ``segment_popularity.npy``) and ``meta.json`` (family, params,
interaction weights, data fingerprint, metrics, counts, ``created_at``, and under ``files`` the
SHA-256, size, shape and dtype of every other file, which :mod:`recommender.validation` checks
before the version is activated or loaded). Nothing per customer is stored (no user factors, no
customer ids), so erasing a customer never requires retraining. Which version is active is the
store's business, not this module's.

Examples
--------
>>> import tempfile, scipy.sparse as sp
>>> from recommender.models import Popularity
>>> root = tempfile.mkdtemp()
>>> m = Popularity().fit(sp.csr_matrix([[1.0, 0.0]]))
>>> folder = save_version(root, "acme", m, np.array(["a", "b"]), {"fingerprint": "x"})
>>> folder == version_folder(root, "acme", folder.name)
True
>>> read_meta(folder)["files"]["item_ids.npy"]["shape"]
[2]
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.models import Recommender

FORMAT_VERSION = 1
_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def data_fingerprint(matrix: sp.csr_matrix, item_ids: np.ndarray) -> str:
    """SHA-256 (first 16 hex) of the training matrix and item ids: same data, same print."""
    h = hashlib.sha256()
    m = sp.csr_matrix(matrix)
    for arr in (m.indptr.astype(np.int64), m.indices.astype(np.int64), m.data.astype(np.float32)):
        h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\x00".join(np.asarray(item_ids).astype(str).tolist()).encode())
    return h.hexdigest()[:16]


def _check_name(kind: str, name: str) -> str:
    if not _SAFE.match(name) or name in (".", ".."):
        raise ValueError(f"invalid {kind} name {name!r}")
    return name


def new_version_name(fingerprint: str = "") -> str:
    """Sortable version name: UTC time to the millisecond plus the data fingerprint."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    return f"{stamp}-{fingerprint[:8]}" if fingerprint else stamp


def save_version(
    root: str | Path,
    tenant: str,
    model: Recommender,
    item_ids: np.ndarray,
    meta: dict[str, Any],
    segments: tuple[np.ndarray, np.ndarray] | None = None,
    popularity: np.ndarray | None = None,
) -> Path:
    """Write a new version folder atomically (temp folder + rename) and return its path.

    ``segments`` is ``(segment_names, popularity)`` with popularity shaped (segments x items);
    ``popularity`` the global popularity per item (the cold-start fallback of every family).
    """
    tenant_dir = Path(root) / _check_name("tenant", tenant)
    tenant_dir.mkdir(parents=True, exist_ok=True)
    name = new_version_name(str(meta.get("fingerprint", "")))
    while (tenant_dir / name).exists():
        time.sleep(0.002)
        name = new_version_name(str(meta.get("fingerprint", "")))
    tmp = tenant_dir / f".tmp-{name}-{os.getpid()}"
    model.save(tmp)
    ids = np.asarray(item_ids).astype(str)
    np.save(tmp / "item_ids.npy", ids, allow_pickle=False)
    if popularity is not None:
        np.save(
            tmp / "popularity.npy", np.asarray(popularity, dtype=np.float32), allow_pickle=False
        )
    if segments is not None:
        np.save(tmp / "segment_names.npy", np.asarray(segments[0]).astype(str), allow_pickle=False)
        np.save(
            tmp / "segment_popularity.npy",
            np.asarray(segments[1], dtype=np.float32),
            allow_pickle=False,
        )
    full = {
        "format_version": FORMAT_VERSION,
        "files": file_manifest(tmp),
        "tenant": tenant,
        "version": name,
        "family": model.family,
        "params": model.get_params(),
        "n_items": len(ids),
        "created_at": datetime.now(UTC).isoformat(),
        **meta,
    }
    (tmp / "meta.json").write_text(json.dumps(full, indent=2, sort_keys=True, default=str))
    os.replace(tmp, tenant_dir / name)
    return tenant_dir / name


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            h.update(block)
    return h.hexdigest()


def file_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """``{file name: {"sha256", "bytes"[, "shape", "dtype"]}}`` of every file but ``meta.json``
    (shape and dtype for ``.npy`` arrays, read from their header)."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.iterdir()):
        if path.name == "meta.json" or not path.is_file():
            continue
        entry: dict[str, Any] = {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        if path.suffix == ".npy":
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            entry["shape"] = list(arr.shape)
            entry["dtype"] = arr.dtype.str
        out[path.name] = entry
    return out


def read_meta(folder: str | Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((Path(folder) / "meta.json").read_text())
    return meta


def version_folder(root: str | Path, tenant: str, version: str) -> Path:
    """Path of one version (validated names, so a version string cannot escape the root)."""
    return Path(root) / _check_name("tenant", tenant) / _check_name("version", version)
