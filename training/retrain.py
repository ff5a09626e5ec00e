"""The retraining job behind ``atelier retrain``: train, compare with the live model, publish, promote.

One run, under the tenant's job lock (:class:`store.protocols.JobLockStore`), so two runs of one
tenant never overlap:

1. The tenant's events (optionally ``since``/``until``) are read from the store.
2. A *fresh* validation slice is cut off their end: the last ``validation_days`` days (the last
   fifth of the events in time when the history is shorter than three times that), moved later
   if needed so that it holds only events after the active version's data window. Neither model
   has seen those events, so the comparison is fair.
3. The candidate's recipe (``--model auto``'s search, or a named family) is trained on the events
   before the cut and scored on the slice; the active version's artifact is scored on the same
   slice from the same histories (items it never saw cannot be recommended by it, which is the
   point of retraining).
4. The candidate is refitted on all the events and written as a new version, atomically (a temp
   folder renamed), with the comparison in its ``meta.json``; it is published, then activated
   when ``promote`` says so: ``always``, ``never``, or ``if-better``, when its metric beats the
   active one's by the relative ``margin`` (0.01: one per cent better). With ``experiment``
   (the candidate's share) an A/B test of the two versions starts instead of a promotion.

Examples
--------
>>> decide("if-better", 0.22, 0.20, margin=0.05, has_active=True)
(True, 'ndcg 0.2200 beats the active 0.2000 by 10.0% (margin 5.0%)')
>>> decide("if-better", 0.205, 0.20, margin=0.05, has_active=True)[0]
False
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.errors import Conflict
from core.records import EventFrame
from recommender.artifacts import read_meta, version_folder
from recommender.interactions import InteractionWeights
from recommender.models import FAMILIES, Recommender, rows_per_batch
from recommender.versions import ModelVersions
from store.base import Store
from training.evaluation import Split, evaluate_model, ranking_metrics, split_frame_masks
from training.train import TrainConfig, choose, train_from_frame
from training.tuning import fit_family
from training.validation import positive_mask

log = logging.getLogger("atelier.training")

PROMOTE = ("always", "if-better", "never")
LOCK_JOB = "retrain"

#: Exit codes of ``atelier retrain`` (documented in its --help and the README).
EXIT_PROMOTED = 0
EXIT_FAILED = 1
EXIT_KEPT = 3
EXIT_BUSY = 4
EXIT_EXPERIMENT = 5


class RetrainBusy(Conflict):
    """Another retrain of the tenant holds the lock; nothing was done."""


@dataclass
class RetrainOptions:
    """What a retrain does beyond training: the window, the promotion rule, the lock's expiry."""

    promote: str = "if-better"
    margin: float = 0.01
    since: float | None = None
    until: float | None = None
    lock_ttl_s: float = 6 * 3600.0
    #: Instead of promoting: the candidate's share of customers in an A/B test against the
    #: active version (``recommender.experiments``), e.g. 0.1.
    experiment: float | None = None

    def __post_init__(self) -> None:
        if self.experiment is not None and not 0.0 < self.experiment < 1.0:
            raise ValueError("experiment (the candidate's share) must lie between 0 and 1")
        if self.promote not in PROMOTE:
            raise ValueError(f"promote must be one of {', '.join(PROMOTE)}, not {self.promote!r}")
        if self.margin < 0:
            raise ValueError("margin must not be negative")


@dataclass
class RetrainResult:
    """The job's summary (``atelier retrain`` prints it as JSON)."""

    status: str  # "promoted" | "kept" | "experiment"
    tenant: str
    version: str
    active_before: str | None
    active_after: str | None
    reason: str
    comparison: dict[str, Any]
    family: str
    params: dict[str, Any]
    seconds: dict[str, float] = field(default_factory=dict)
    experiment: dict[str, Any] | None = None

    @property
    def exit_code(self) -> int:
        codes = {"promoted": EXIT_PROMOTED, "experiment": EXIT_EXPERIMENT}
        return codes.get(self.status, EXIT_KEPT)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "tenant": self.tenant,
            "version": self.version,
            "active_before": self.active_before,
            "active_after": self.active_after,
            "reason": self.reason,
            "family": self.family,
            "params": self.params,
            "comparison": self.comparison,
            "experiment": self.experiment,
            "seconds": self.seconds,
        }


def decide(
    promote: str, candidate: float, active: float | None, *, margin: float, has_active: bool
) -> tuple[bool, str]:
    """Whether to activate the candidate, and why (``active`` None: it could not be scored)."""
    if not has_active:
        return True, "no active version"
    if promote == "always":
        return True, "--promote always"
    if promote == "never":
        return False, "--promote never"
    if active is None:
        return False, "no fresh events to score the active version on; kept"
    need = active * (1.0 + margin)
    if candidate > need and candidate > active:
        gain = (candidate / active - 1.0) if active > 0 else float("inf")
        return True, (
            f"ndcg {candidate:.4f} beats the active {active:.4f} by {gain:.1%} (margin {margin:.1%})"
        )
    return False, (
        f"ndcg {candidate:.4f} does not beat the active {active:.4f} by the margin {margin:.1%}"
    )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(float(ts), UTC).isoformat()


def _posix(iso: str | None) -> float | None:
    return None if not iso else datetime.fromisoformat(iso).timestamp()


def fresh_cut(frame: EventFrame, days: float, active_last_event: float | None) -> float:
    """Where the fresh validation slice starts (see the module docstring)."""
    ts = frame.timestamp
    end, start = float(ts.max()), float(ts.min())
    cut = end - days * 86400.0
    if end - start < 3 * days * 86400.0:
        cut = float(np.quantile(ts, 0.8))
    if active_last_event is not None and active_last_event >= cut:
        cut = float(np.nextafter(active_last_event, np.inf))
    return cut


def comparison_split(frame: EventFrame, cut: float, config: TrainConfig) -> Split | None:
    """Train on events before ``cut`` (weighted by ``config.weights``); relevant: later items
    new to each customer that the validation counts as targets (purchases and ratings, or any
    positive interaction: :func:`training.validation.positive_mask`), whatever the weighting.
    None when either side is empty (nothing to compare on)."""
    ts = frame.timestamp
    positive, _ = positive_mask(frame, config.positive_rating)
    train, test = ts < cut, (ts >= cut) & positive
    if not train.any() or not test.any():
        return None
    split = split_frame_masks(frame, train, test, config.weights)
    return split if split.test.nnz else None


def evaluate_version(folder: Path, split: Split, k: int = 10) -> dict[str, float]:
    """Metrics of a saved version on a split built in another item index space.

    The split's histories are mapped to the version's items (unknown items dropped from the
    input), its recommendations mapped back (items outside the split are never relevant).
    """
    model = Recommender.load(folder)
    known = np.load(folder / "item_ids.npy", allow_pickle=False).astype(str)
    pos = {item: i for i, item in enumerate(known.tolist())}
    to_model = np.array([pos.get(str(i), -1) for i in split.item_ids.tolist()], dtype=np.int64)
    to_split = np.full(len(known), -1, dtype=np.int64)
    to_split[to_model[to_model >= 0]] = np.flatnonzero(to_model >= 0)
    train = split.train.tocoo()
    keep = to_model[train.col] >= 0
    rows = sp.csr_matrix(
        (train.data[keep], (train.row[keep], to_model[train.col[keep]])),
        shape=(train.shape[0], len(known)),
        dtype=np.float32,
    )
    users = np.flatnonzero(np.diff(split.test.indptr) > 0)
    recs = np.full((split.train.shape[0], k), -1, dtype=np.int64)
    batch = rows_per_batch(len(known))
    for begin in range(0, len(users), batch):
        u = users[begin : begin + batch]
        ids, scores = model.recommend(rows[u], N=k)
        mapped = np.where(np.isfinite(scores), to_split[ids], -1)
        recs[u, : ids.shape[1]] = mapped
    return ranking_metrics(recs, split.test, k=k, n_items=split.train.shape[1])


def _recipe(
    frame: EventFrame, config: TrainConfig
) -> tuple[str, dict[str, Any], InteractionWeights, list[Any]]:
    """Family, parameters and weighting the config trains on ``frame`` (auto: the winner of
    ``atelier train``'s own search, :func:`training.train.choose`)."""
    if config.model != "auto":
        if config.model not in FAMILIES:
            raise ValueError(f"unknown model {config.model!r}; choose auto or {sorted(FAMILIES)}")
        return config.model, dict(config.params), config.weights, []
    _, weights, family, params, trials = choose(frame, config)
    return family, params, weights, trials


def _clean_stale_temp(models_dir: Path, tenant: str) -> None:
    """Remove temp folders of publishes whose process died (``.tmp-<name>-<pid>``)."""
    folder = models_dir / tenant
    if not folder.is_dir():
        return
    for tmp in folder.glob(".tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _active_state(store: Store, models_dir: Path, tenant: str) -> tuple[str | None, Path | None]:
    active = store.active_model(tenant)
    if active is None:
        return None, None
    with contextlib.suppress(ValueError):
        folder = version_folder(models_dir, tenant, active)
        if (folder / "meta.json").exists():
            return active, folder
    return active, None


def _window(frame: EventFrame, options: RetrainOptions) -> EventFrame:
    ts = frame.timestamp
    mask = np.ones(len(ts), dtype=bool)
    if options.since is not None:
        mask &= ts >= options.since
    if options.until is not None:
        mask &= ts < options.until
    return frame if mask.all() else frame.select(mask)


def _segments(store: Store, tenant: str) -> dict[str, str]:
    return {
        c.customer_id: str(c.attributes["segment"])
        for c in store.iter_customers(tenant)
        if c.attributes.get("segment") is not None
    }


def _compare(
    frame: EventFrame,
    config: TrainConfig,
    active_folder: Path | None,
) -> tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(family, params, the comparison document, the candidate's validation metrics)."""
    metric = config.metric
    active_last = None
    if active_folder is not None:
        active_last = _posix(read_meta(active_folder).get("data_window", {}).get("last_event"))
    cut = fresh_cut(frame, config.validation_days, active_last)
    before = frame.select(frame.timestamp < cut)
    if not len(before):
        raise ValueError("no events before the validation slice to train the candidate on")
    family, params, weights, trials = _recipe(before, config)
    config = replace(config, weights=weights)
    comparison: dict[str, Any] = {
        "metric": metric,
        "slice": {"from": _iso(cut), "to": _iso(float(frame.timestamp.max()))},
        "fresh": active_last is not None,
        "candidate": None,
        "active": None,
        "search_trials": len(trials),
        "weights": weights.to_dict(),
    }
    split = comparison_split(frame, cut, config)
    candidate_metrics: dict[str, Any] = {}
    if split is not None:
        model: Recommender = fit_family(family, params, split.fit_rows)
        candidate_metrics = evaluate_model(model, split, k=config.k)
        comparison["candidate"] = candidate_metrics
        comparison["slice"]["customers"] = int(candidate_metrics.get("users", 0))
        if active_folder is not None:
            try:
                comparison["active"] = evaluate_version(active_folder, split, k=config.k)
            except (OSError, ValueError, KeyError) as exc:
                comparison["active_error"] = f"{type(exc).__name__}: {exc}"
    return family, params, comparison, candidate_metrics


def retrain(
    store: Store,
    models_dir: str | Path,
    tenant: str,
    config: TrainConfig,
    options: RetrainOptions | None = None,
    *,
    frame: EventFrame | None = None,
) -> RetrainResult:
    """Run the job once (see the module docstring) on the tenant's stored events, or on
    ``frame`` (an exported file's). Raises :class:`RetrainBusy` when another run holds the
    tenant's lock, ``ValueError`` when there is nothing to train on."""
    options = options or RetrainOptions()
    models_dir = Path(models_dir)
    token = store.acquire_job_lock(tenant, LOCK_JOB, options.lock_ttl_s)
    if token is None:
        raise RetrainBusy(f"another retrain of tenant {tenant!r} is running")
    try:
        return _run(store, models_dir, tenant, config, options, frame)
    finally:
        store.release_job_lock(tenant, LOCK_JOB, token)


def _run(
    store: Store,
    models_dir: Path,
    tenant: str,
    config: TrainConfig,
    options: RetrainOptions,
    frame: EventFrame | None,
) -> RetrainResult:
    t0 = time.perf_counter()
    _clean_stale_temp(models_dir, tenant)
    frame = _window(store.events_frame(tenant) if frame is None else frame, options)
    if not len(frame):
        raise ValueError(f"no events to train on for tenant {tenant!r}")
    active, active_folder = _active_state(store, models_dir, tenant)
    family, params, comparison, candidate_metrics = _compare(frame, config, active_folder)
    chosen = InteractionWeights.from_dict(comparison["weights"])
    t_compare = time.perf_counter() - t0
    metric = config.metric
    cand = (comparison["candidate"] or {}).get(metric)
    act = (comparison["active"] or {}).get(metric)
    promote, reason = decide(
        options.promote,
        float(cand) if cand is not None else 0.0,
        None if act is None or cand is None else float(act),
        margin=options.margin,
        has_active=active is not None,
    )
    comparison.update(
        {
            "against": active,
            "promote": options.promote,
            "margin": options.margin,
            "decision": "promoted" if promote else "kept",
            "reason": reason,
        }
    )
    final = replace(
        config, model=family, params=params, weights=chosen, search_weights=False, validate=False
    )
    window = {
        "since": None if options.since is None else _iso(options.since),
        "until": None if options.until is None else _iso(options.until),
    }
    folder = train_from_frame(
        frame,
        final,
        models_dir,
        tenant,
        segments=_segments(store, tenant) or None,
        extra_meta={
            "comparison": comparison,
            "metrics": {"validation": candidate_metrics},
            "requested_window": window,
        },
    )
    version = folder.name
    store.publish_model(tenant, version, read_meta(folder).get("metrics", {}))
    experiment = None
    if options.experiment is not None and active is not None:
        experiment = _start_experiment(store, tenant, active, version, options.experiment)
        reason = f"experiment {experiment['experiment_id']} started instead of a promotion"
    elif promote:
        ModelVersions(store, models_dir).activate(tenant, version)
    after = store.active_model(tenant)
    return RetrainResult(
        status="experiment" if experiment else "promoted" if after == version else "kept",
        experiment=experiment,
        tenant=tenant,
        version=version,
        active_before=active,
        active_after=after,
        reason=reason,
        comparison=comparison,
        family=family,
        params=params,
        seconds={
            "compare": round(t_compare, 3),
            "total": round(time.perf_counter() - t0, 3),
        },
    )


def _start_experiment(
    store: Store, tenant: str, active: str, candidate: str, share: float
) -> dict[str, Any]:
    """An A/B test of the candidate (``share`` of customers) against the active version."""
    from recommender.experiments import ExperimentService

    experiment_id = f"retrain-{candidate}"
    arms = {"active": active, "candidate": candidate}
    split = {"active": 1.0 - share, "candidate": share}
    ExperimentService(store).start(tenant, experiment_id, arms, split)
    return {"experiment_id": experiment_id, "arms": arms, "split": split}


def summary_of_failure(tenant: str, exc: BaseException) -> Mapping[str, Any]:
    """The JSON summary of a run that failed (nothing published)."""
    return {"status": "failed", "tenant": tenant, "error": f"{type(exc).__name__}: {exc}"}
