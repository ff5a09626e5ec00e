"""Which model version each tenant serves in this worker, kept in step with the store.

One :class:`ModelRegistry` lives in each worker process. For every tenant it holds a
:class:`ServedModel` (the :class:`~recommender.serving.LoadedModel` of the version the store
marks active, its answer cache and its vector cache) and follows the store:

- **activations**: the active version is read at most every ``poll_s`` seconds; a new one is
  loaded in the background beside the old one, then the reference is swapped, so no request
  fails and none waits (only a tenant's very first request in a worker loads in line);
- **catalog changes**: the store's change feed is applied on the next request (availability at
  once; a new item or a changed category reloads the version in the background), so a deleted
  item is never recommended by any worker;
- **experiment arms**: :meth:`ModelRegistry.model_for_version` serves a version other than the
  active one (an arm), loaded on its first request and kept in step with the catalog the same
  way; one that fails is reported (:meth:`ModelRegistry.version_problem`) and retried like an
  active one, so its customers are served by another arm meanwhile;
- **bad versions**: every load validates the folder first (:mod:`recommender.validation`). A
  version that fails is refused: the tenant keeps serving what it served (or nothing, falling
  back to popular items), the failure is logged once per version with its reason, reported by
  :meth:`ModelRegistry.readiness` while that version is the active one, and not retried until
  its files change. An activation of another version (a roll-back) or repaired files clear it.
- **store outages**: background work (the start-up preload, background loads, warming) waits
  for the store and tries again; the outage is one log line when it starts and one when the
  store is back (:class:`store.outage.OutageLog`), never a traceback per try. A request that
  meets the outage answers 503 (``Unavailable`` is raised, not recorded as a failed version).

Examples
--------
>>> registry = ModelRegistry(store, models_dir, poll_s=1.0)      # doctest: +SKIP
>>> registry.start()                                             # doctest: +SKIP
>>> served = registry.model_for("shop")                          # doctest: +SKIP
>>> served.model.version, registry.readiness().ready             # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import Unavailable
from recommender.artifacts import version_folder
from recommender.cache import AnswerCache
from recommender.interactions import INGEST_WEIGHTS, InteractionWeights
from recommender.metrics import count_load_failure, observe_load
from recommender.metrics import flush as flush_metrics
from recommender.serving import LoadedModel
from recommender.validation import InvalidVersion
from store.base import Store
from store.outage import OutageLog

if TYPE_CHECKING:
    from recommender.foldin import IncrementalFoldIn  # imported with the first factor model

log = logging.getLogger("atelier.recommender")

#: Seconds before a version whose load failed for another reason than its files is tried again.
RETRY_S = 10.0
#: Seconds between two tries of the start-up preload while the store cannot answer.
PRELOAD_RETRY_S = 1.0


@dataclass
class ServedModel:
    """A tenant's loaded version and the per-version state serving it needs."""

    model: LoadedModel
    #: The catalog version the model's availability and categories reflect.
    catalog_version: int
    weights: InteractionWeights
    #: True: rows are rebuilt from events (time decay or a weighting other than the store's).
    exact_history: bool
    category_of: dict[str, str | None]
    answers: AnswerCache
    #: The last training event's time: rebuilt rows decay from it (:func:`serving_as_of`).
    decay_as_of: float | None = None
    #: Per-event customer vectors of factor models (Sherman-Morrison against the stored row).
    foldin: IncrementalFoldIn | None = None
    #: ``model.item_ids`` as Python strings (indexing a numpy string array per item is slow).
    item_id_list: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LoadFailure:
    """A version that could not be loaded, and why."""

    version: str
    reason: str
    folder: Path | None
    #: True when the files themselves are wrong (validation): not retried until they change.
    refused: bool
    #: ``(name, size, mtime)`` of the folder's files when it failed.
    files: tuple[tuple[str, int, int], ...]
    #: ``time.monotonic()`` of the failure.
    failed_at: float


@dataclass(frozen=True)
class Readiness:
    """Whether this worker serves what the store says; ``problems`` say what it does not."""

    ready: bool
    problems: list[str]


def _files_of(folder: Path | None) -> tuple[tuple[str, int, int], ...]:
    if folder is None:
        return ()
    try:
        return tuple(
            sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir())
        )
    except OSError:
        return ()


def _rebuilds_rows(weights: InteractionWeights) -> bool:
    """True when the store's incrementally kept rows are not this model's rows."""
    same_rows = (
        dict(weights.type_weights) == dict(INGEST_WEIGHTS.type_weights)
        and weights.rating_scale == INGEST_WEIGHTS.rating_scale
        and weights.rating_offset == INGEST_WEIGHTS.rating_offset
        and weights.rating_power == INGEST_WEIGHTS.rating_power
        and weights.quantity == INGEST_WEIGHTS.quantity
    )
    return not same_rows or weights.half_life_days is not None


class ModelRegistry:
    """The served version of every tenant of one worker (see the module docstring).

    Parameters
    ----------
    store
        The shared store.
    models_dir
        Root of the versioned artifact folders (``<models_dir>/<tenant>/<version>``).
    poll_s
        How often, at most, the store is asked which version is active.
    cache_customers
        Precomputed answers kept per served version (LRU).
    on_load
        Called with ``(tenant, served)`` once a version was loaded at start-up or swapped in
        from the background (e.g. to precompute its answers).
    """

    def __init__(
        self,
        store: Store,
        models_dir: Path,
        poll_s: float = 1.0,
        cache_customers: int = 200_000,
        on_load: Callable[[str, ServedModel], object] | None = None,
    ) -> None:
        self.store = store
        self.models_dir = Path(models_dir)
        self.poll_s = poll_s
        self.cache_customers = cache_customers
        self.on_load = on_load
        self.started = False
        self._served: dict[str, ServedModel] = {}
        self._checked: dict[str, tuple[float, str | None]] = {}
        self._failures: dict[str, LoadFailure] = {}
        self._warned: set[tuple[str, str]] = set()  # versions whose warnings were logged
        self._loading: set[str] = set()
        #: Versions served beside the active one (experiment arms), and those that failed.
        self._arms: dict[tuple[str, str], ServedModel] = {}
        self._arm_failures: dict[tuple[str, str], LoadFailure] = {}
        self._stop = threading.Event()  # set by close(): background work ends early
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._outage = OutageLog(log, "model registry")

    # ------------------------------------------------------------------ serving
    def model_for(self, tenant: str, catalog_version: int | None = None) -> ServedModel | None:
        """The tenant's served version, following activations and catalog changes (the
        store's catalog version is read unless the caller just read it); None when the tenant
        has no active version, or none that could be loaded."""
        now = time.monotonic()
        checked = self._checked.get(tenant)
        polled = checked is None or now - checked[0] >= self.poll_s
        if checked is not None and not polled:
            active = checked[1]
        else:
            active = self.store.active_model(tenant)
            self._checked[tenant] = (now, active)
            flush_metrics()  # the answers counted since the last poll
        current = self._served.get(tenant)
        if current is None or current.model.version != active or self._failures:
            # the rare case: something to load, drop or report (the hot path skips it)
            current = self._follow(tenant, active, current, polled, now)
            if current is None:
                return None
        self._sync_catalog(tenant, current, catalog_version)
        return current

    def _follow(
        self,
        tenant: str,
        active: str | None,
        current: ServedModel | None,
        polled: bool,
        now: float,
    ) -> ServedModel | None:
        """Bring the tenant in step with its ``active`` version: load it now when nothing is
        served, in the background otherwise; a version that failed is retried only at a poll
        tick and when :meth:`_should_retry` says so."""
        if active is None:
            self._served.pop(tenant, None)
            self._failures.pop(tenant, None)
            return None
        failure = self._failures.get(tenant)
        if failure is not None and failure.version != active:
            self._failures.pop(tenant, None)  # the store moved on: a roll-back, another version
            failure = None
        stale = current is None or current.model.version != active
        if (stale and failure is None) or (
            failure is not None and polled and self._should_retry(failure, now)
        ):
            if current is None:
                # First request of this tenant in this worker: load now (nothing to serve yet).
                current = self._load_or_report(tenant, active)
                if current is not None:
                    self._served[tenant] = current
            else:
                self._swap_in_background(tenant, active)
        return current

    def model_for_version(
        self, tenant: str, version: str, catalog_version: int | None = None
    ) -> ServedModel | None:
        """``version`` of ``tenant`` ready to serve (an experiment arm): the active one when it
        is that, else loaded on first use (in line: its customers have no other answer) and
        synced with the catalog; None while it cannot be loaded (see :meth:`version_problem`)."""
        key = (tenant, version)
        served = self._arms.get(key)
        if served is not None:  # the usual case in an experiment: one lookup, then the sync
            self._sync_catalog(tenant, served, catalog_version)
            return served
        current = self.model_for(tenant, catalog_version)
        if current is not None and current.model.version == version:
            return current
        failure = self._arm_failures.get(key)
        if failure is not None and not self._should_retry(failure, time.monotonic()):
            return None
        served = self._load_arm(tenant, version)
        if served is not None:
            self._sync_catalog(tenant, served, catalog_version)
        return served

    def _load_arm(self, tenant: str, version: str) -> ServedModel | None:
        key = (tenant, version)
        with self._lock:
            served = self._arms.get(key)  # another request loaded it meanwhile
        if served is not None:
            return served
        try:
            folder: Path | None = version_folder(self.models_dir, tenant, version)
        except ValueError:
            folder = None
        try:
            served = self._load(tenant, version)
        except Exception as exc:  # reported by version_problem; another arm serves
            refused = isinstance(exc, InvalidVersion)
            reason = "; ".join(exc.problems) if isinstance(exc, InvalidVersion) else str(exc)
            if not refused:
                reason = f"{type(exc).__name__}: {reason}"
            if key not in self._arm_failures:
                log.error(
                    "experiment arm %s of tenant %s failed to load: %s", version, tenant, reason
                )
            self._arm_failures[key] = LoadFailure(
                version, reason, folder, refused, _files_of(folder), time.monotonic()
            )
            return None
        with self._lock:
            self._arm_failures.pop(key, None)
            self._arms[key] = served
        return served

    def version_problem(self, tenant: str, version: str) -> str | None:
        """Why ``version`` cannot serve in this worker (tried now if it never was), or None."""
        if self.model_for_version(tenant, version) is not None:
            return None
        failure = self._arm_failures.get((tenant, version))
        if failure is not None:
            return failure.reason
        active = self._failures.get(tenant)
        return active.reason if active is not None and active.version == version else "not loaded"

    def release_arms(self, tenant: str, keep: set[str]) -> None:
        """Forget arm versions of ``tenant`` not in ``keep`` (an experiment ended or changed)."""
        with self._lock:
            for key in [k for k in self._arms if k[0] == tenant and k[1] not in keep]:
                del self._arms[key]
            for key in [k for k in self._arm_failures if k[0] == tenant and k[1] not in keep]:
                del self._arm_failures[key]

    def all_served(self, tenant: str) -> list[ServedModel]:
        """Every version this worker serves for ``tenant`` (the active one and arms)."""
        with self._lock:
            arms = [m for (t, _), m in self._arms.items() if t == tenant]
        active = self._served.get(tenant)
        return ([active] if active is not None else []) + arms

    def served(self, tenant: str) -> ServedModel | None:
        """What this worker serves for ``tenant`` now (no store read)."""
        return self._served.get(tenant)

    def reload(self, tenant: str) -> None:
        """Load the served version again in the background (e.g. for a catalog item it has
        not seen yet: new items are indexed at load)."""
        current = self._served.get(tenant)
        if current is not None:
            self._swap_in_background(tenant, current.model.version)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Load every active model in the background (start-up); :meth:`readiness` says when
        that is done."""
        self._in_background(self.preload, "reco-preload")

    def preload(self) -> None:
        """Load every tenant's active model (and run ``on_load`` for it); while the store cannot
        answer, wait and start again (tenants already loaded are not loaded twice)."""
        try:
            while not self._stop.is_set():
                try:
                    self._preload_tenants()
                except Unavailable as exc:
                    self._outage.failed(exc)
                    self._stop.wait(PRELOAD_RETRY_S)
                    continue
                self._outage.succeeded()
                return
        finally:
            self.started = True

    def _preload_tenants(self) -> None:
        for tenant in self.store.list_tenants():
            if self._stop.is_set():
                return
            served = self.model_for(tenant)
            if served is not None and self.on_load is not None:
                self.on_load(tenant, served)

    def close(self, timeout: float = 10.0) -> None:
        """Stop background loading and warming and wait for it (before the store closes)."""
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    @property
    def stopping(self) -> bool:
        """True once :meth:`close` was called (long background work should end)."""
        return self._stop.is_set()

    def readiness(self) -> Readiness:
        """Ready once start-up loading finished and every tenant serves its active version;
        otherwise one problem per tenant whose active version failed to load (and what it
        serves instead). Failed tenants are checked against the store again first, so a
        roll-back shows at once."""
        if not self.started:
            return Readiness(False, [])
        for tenant in list(self._failures):
            with contextlib.suppress(Unavailable):  # /readyz says "store" for that already
                self.model_for(tenant)
        problems = []
        for tenant, failure in sorted(self._failures.items()):
            served = self._served.get(tenant)
            serving = f"serving '{served.model.version}'" if served else "serving no model"
            problems.append(
                f"tenant '{tenant}': model version '{failure.version}' failed to load: "
                f"{failure.reason} ({serving})"
            )
        return Readiness(not problems, problems)

    # ------------------------------------------------------------------ loading
    def _load(self, tenant: str, version: str) -> ServedModel:
        folder = version_folder(self.models_dir, tenant, version)
        # The version is read first: a change made while the items are read is applied again by
        # the next sync, never missed.
        catalog_version = self.store.catalog_version(tenant)
        items = list(self.store.iter_items(tenant, include_deleted=True))
        model = LoadedModel.load(folder, catalog=items)
        weights = InteractionWeights.from_dict(model.meta.get("weights") or {})
        if model.warnings and (tenant, version) not in self._warned:
            self._warned.add((tenant, version))
            log.warning("model %s of tenant %s: %s", version, tenant, "; ".join(model.warnings))
        return ServedModel(
            model=model,
            catalog_version=catalog_version,
            weights=weights,
            exact_history=_rebuilds_rows(weights),
            category_of={i.item_id: i.category for i in items},
            answers=AnswerCache(self.cache_customers),
            decay_as_of=model.meta.get("decay_as_of"),
            foldin=model.scorer.vector_cache(),
            item_id_list=[str(i) for i in model.item_ids.tolist()],
        )

    def _load_or_report(self, tenant: str, version: str) -> ServedModel | None:
        """Load a version, or record (and log, once per version and reason) why it failed."""
        try:
            folder: Path | None = version_folder(self.models_dir, tenant, version)
        except ValueError:
            folder = None  # _load raises the same error, reported below
        start = time.perf_counter()
        try:
            served = self._load(tenant, version)
        except Unavailable:
            raise  # the store, not the version: the caller answers 503 or tries again later
        except Exception as exc:  # any failure: keep serving what is served, say it on /readyz
            refused = isinstance(exc, InvalidVersion)
            count_load_failure(refused)
            if isinstance(exc, InvalidVersion):
                reason = "; ".join(exc.problems)
            else:
                reason = f"{type(exc).__name__}: {exc}"
            previous = self._failures.get(tenant)
            self._failures[tenant] = LoadFailure(
                version, reason, folder, refused, _files_of(folder), time.monotonic()
            )
            if previous is None or (previous.version, previous.reason) != (version, reason):
                if refused:
                    log.error("model %s of tenant %s refused: %s", version, tenant, reason)
                else:
                    log.exception("loading model %s of tenant %s failed", version, tenant)
            return None
        observe_load(str(served.model.meta.get("family", "unknown")), time.perf_counter() - start)
        failure = self._failures.get(tenant)
        if failure is not None and failure.version == version:
            self._failures.pop(tenant, None)
        return served

    def _should_retry(self, failure: LoadFailure, now: float) -> bool:
        """Whether a failed version may load now: a refused one once its files changed
        (until then retrying could only fail and log again), any other failure (the store,
        memory) after ``RETRY_S``."""
        if failure.refused:
            return _files_of(failure.folder) != failure.files
        return now - failure.failed_at >= RETRY_S

    def _swap_in_background(self, tenant: str, version: str) -> None:
        def run() -> None:
            try:
                loaded = self._load_or_report(tenant, version)
                if loaded is None:
                    return
                self._served[tenant] = loaded  # one reference swap: requests see old or new
                log.info("tenant %s now serves model %s", tenant, version)
                if self.on_load is not None:
                    self.on_load(tenant, loaded)
                self._outage.succeeded()
            except Unavailable as exc:  # loaded again on a later request, once the store answers
                self._outage.failed(exc)
            except Exception:  # on_load (warming) failed: the version serves, cold
                log.exception("preparing model %s of tenant %s failed", version, tenant)
            finally:
                with self._lock:
                    self._loading.discard(tenant)

        with self._lock:
            if tenant in self._loading:
                return
            self._loading.add(tenant)
        self._in_background(run, f"load-{tenant}-{version}")

    def _in_background(self, target: Callable[[], None], name: str) -> None:
        """Run ``target`` in a daemon thread that :meth:`close` waits for."""

        def run() -> None:
            try:
                target()
            finally:
                with self._lock:
                    self._threads.discard(thread)

        thread = threading.Thread(target=run, name=name, daemon=True)
        with self._lock:
            if self._stop.is_set():
                return
            self._threads.add(thread)
        thread.start()

    def _sync_catalog(self, tenant: str, served: ServedModel, version: int | None = None) -> None:
        """Apply the catalog's changes since the served model's catalog version."""
        if version is None:
            version = self.store.catalog_version(tenant)
        if version == served.catalog_version:
            return
        version, changed = self.store.items_changed_since(tenant, served.catalog_version)
        reload_needed = False
        for item in changed:
            if item.item_id not in served.model.item_index:
                reload_needed |= item.available  # a new item: needs attribute proxies
                continue
            served.model.set_available([item.item_id], item.available)
            if served.category_of.get(item.item_id) != item.category:
                reload_needed = True  # category masks are built at load
        served.catalog_version = version
        if reload_needed:
            self._swap_in_background(tenant, served.model.version)
