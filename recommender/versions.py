"""A tenant's published model versions: list them, activate one (a switch or a roll-back).

Activation validates the version's folder first (:func:`recommender.validation.validate_version`):
a version whose files are wrong is refused with :class:`~recommender.validation.InvalidVersion`
(a ``Conflict``: 409 over HTTP) and the active version keeps serving. Every worker follows an
activation within its poll interval (:class:`recommender.registry.ModelRegistry`).

Examples
--------
>>> versions = ModelVersions(store, models_dir)                 # doctest: +SKIP
>>> versions.activate("shop", "20250101T000000000Z-1a2b3c4d").active  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import NotFound
from recommender.artifacts import read_meta, version_folder
from recommender.validation import validate_version
from store.base import Store

log = logging.getLogger("atelier.recommender")


@dataclass(frozen=True)
class VersionInfo:
    """One published version: the store's record and, when its folder is here, what it is."""

    version: str
    active: bool
    created_at: float
    metrics: dict[str, Any]
    family: str | None
    params: dict[str, Any] | None


@dataclass(frozen=True)
class VersionDetail:
    """One version in full: what it is, what it learned from, how it scored, its files.

    The fields read from ``meta.json`` are None when the version's folder is not on this
    machine (published from another one).
    """

    version: str
    active: bool
    created_at: float
    family: str | None
    params: dict[str, Any] | None
    weights: dict[str, Any] | None
    data: dict[str, Any] | None
    metrics: dict[str, Any]
    comparison: dict[str, Any] | None
    search: dict[str, Any] | None
    files: dict[str, dict[str, Any]] | None
    seconds: dict[str, Any] | None


def _data_of(meta: dict[str, Any]) -> dict[str, Any]:
    """The data a version learned from: its window, fingerprint and sizes."""
    window = meta.get("data_window") or {}
    return {
        "first_event": window.get("first_event"),
        "last_event": window.get("last_event"),
        "requested_window": meta.get("requested_window"),
        "fingerprint": meta.get("fingerprint"),
        "n_events": meta.get("n_events"),
        "n_customers": meta.get("n_customers"),
        "n_items": meta.get("n_items"),
        "n_interactions": meta.get("n_interactions"),
    }


@dataclass(frozen=True)
class VersionList:
    active: str | None
    versions: list[VersionInfo]


class ModelVersions:
    """Published versions of every tenant (store records plus their folders' metadata)."""

    def __init__(self, store: Store, models_dir: Path) -> None:
        self.store = store
        self.models_dir = Path(models_dir)

    def list(self, tenant: str) -> VersionList:
        """Published versions with their metrics, family and parameters; which one is active."""
        versions = []
        for m in self.store.list_models(tenant):
            meta: dict[str, Any] = {}
            # A version published from another machine may have no folder here: still listed.
            with contextlib.suppress(OSError, ValueError):
                meta = read_meta(version_folder(self.models_dir, tenant, m.version))
            versions.append(
                VersionInfo(
                    m.version,
                    m.active,
                    m.created_at,
                    m.metrics,
                    meta.get("family"),
                    meta.get("params"),
                )
            )
        return VersionList(self.store.active_model(tenant), versions)

    def get(self, tenant: str, version: str) -> VersionDetail:
        """One published version in full; ``NotFound`` for a version never published."""
        record = next((m for m in self.store.list_models(tenant) if m.version == version), None)
        if record is None:
            raise NotFound(f"model version '{version}' not found")
        meta: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            meta = read_meta(version_folder(self.models_dir, tenant, version))
        search = meta.get("search")
        return VersionDetail(
            version=version,
            active=record.active,
            created_at=record.created_at,
            family=meta.get("family"),
            params=meta.get("params"),
            weights=meta.get("weights"),
            data=_data_of(meta) if meta else None,
            metrics=meta.get("metrics", record.metrics),
            comparison=meta.get("comparison"),
            search=(
                {"method": search.get("method"), "trials": len(search.get("trials", []))}
                if isinstance(search, dict)
                else None
            ),
            files=(
                {name: {"sha256": f["sha256"], "bytes": f["bytes"]} for name, f in files.items()}
                if isinstance(files := meta.get("files"), dict)
                else None
            ),
            seconds=meta.get("seconds"),
        )

    def activate(self, tenant: str, version: str) -> VersionList:
        """Make a published version the active one, after validating its folder.

        Raises ``NotFound`` for a version that is not published or has no folder here, and
        :class:`~recommender.validation.InvalidVersion` (a ``Conflict``) for one whose files
        fail validation; the active version is then unchanged.
        """
        missing = NotFound(f"model version '{version}' not found")
        try:
            folder = version_folder(self.models_dir, tenant, version)
        except ValueError:
            raise missing from None
        published = any(m.version == version for m in self.store.list_models(tenant))
        if not published or not (folder / "meta.json").exists():
            raise missing
        checked = validate_version(folder)
        if checked.warnings:
            log.warning("activating model %s of tenant %s: %s", version, tenant, checked.warnings)
        if not self.store.activate_model(tenant, version):
            raise missing
        return self.list(tenant)
