"""Per-worker recommendation service: the active model of each tenant, kept in step with the store.

One instance lives in each worker process. For every tenant it holds the :class:`LoadedModel` of
the version the store marks active, and swaps to a newly activated version without failing a
request (the new version is loaded beside the old one, then the reference is replaced). Catalog
changes reach it through the store's change feed on the next request, so a deleted item is never
recommended by any worker. A customer's state is their history row in the store, read on each
request; nothing user-specific is kept here beyond a cache that erasure clears.

Examples
--------
>>> service = RecommendationService(store, models_dir)           # doctest: +SKIP
>>> answer = service.recommend("shop", "cust-1", n=10, explain=True)  # doctest: +SKIP
>>> answer.model_version, [i.item_id for i in answer.items][:3]     # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.records import Customer
from recommender.artifacts import version_folder
from recommender.foldin import IncrementalFoldIn
from recommender.interactions import (
    INGEST_WEIGHTS,
    CustomerHistory,
    InteractionWeights,
    finalize_history,
    history_row,
)
from recommender.serving import MAX_N, LoadedModel, Recommendation
from store.base import Store

log = logging.getLogger("atelier.recommender")

#: Fallback labels of an answer (``None`` when personalised by a model).
POPULAR = "popular"
NO_CONSENT = "no_consent"


@dataclass(slots=True)
class RecommendedItem:
    item_id: str
    score: float
    reasons: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Answer:
    """What the recommendation endpoints return."""

    model_version: str | None
    items: list[RecommendedItem]
    fallback: str | None
    #: The response document, once the HTTP layer encoded it: a cached answer (served again for
    #: the same request while the customer's state holds) is encoded only once.
    encoded: bytes | None = None


@dataclass(slots=True)
class _Precomputed:
    """A customer's general top-``CACHE_DEPTH`` (no request filters) and what it depends on.

    Valid while the store's versions (``Store.serving_versions``) and the repurchase rule are
    the ones it was computed under; ``by_n`` keeps the answers of unfiltered requests, which
    then cost a dictionary lookup.
    """

    customer_version: int
    catalog_version: int
    repurchase: bool
    item_idx: np.ndarray
    scores: np.ndarray
    fallback: str | None
    by_n: dict[int, Answer] = field(default_factory=dict)


#: Plain answers (distinct ``n``) kept per customer; clients use one or two page sizes.
_ANSWERS_PER_CUSTOMER = 4

#: How deep a precomputed answer goes: request filters (exclude, category, newly unavailable
#: items) are applied to it; when fewer than ``n`` survive, the answer is computed live.
CACHE_DEPTH = 50


@dataclass
class _TenantModel:
    """A tenant's loaded model and the catalog version it reflects."""

    model: LoadedModel
    catalog_version: int
    weights: InteractionWeights
    exact_history: bool  # True: rebuild rows from events (decay or a non-default weighting)
    category_of: dict[str, str | None]
    #: Per-event customer vectors of factor models (Sherman-Morrison against the stored row).
    foldin: IncrementalFoldIn | None = None
    #: Precomputed answers by customer (LRU), valid while the customer's row, the catalog and
    #: the repurchase rule are the ones they were computed with.
    answers: OrderedDict[str, _Precomputed] = field(default_factory=OrderedDict)
    #: ``model.item_ids`` as Python strings (indexing a numpy string array per item is slow).
    item_id_list: list[str] = field(default_factory=list)


@dataclass
class _StorePopularity:
    """Popularity from the store's purchases, for tenants without any published model."""

    item_ids: list[str]
    computed_at: float


class RecommendationService:
    """Answers recommendations for every tenant of one worker (see module docstring).

    Parameters
    ----------
    store
        The shared store.
    models_dir
        Root of the versioned artifact folders (``<models_dir>/<tenant>/<version>``).
    poll_s
        How often, at most, a request asks the store which version is active.
    cache_customers
        Precomputed answers kept per tenant (LRU); a model load precomputes them for the most
        recently active customers, so most requests filter a ready list instead of scoring.
    """

    def __init__(
        self,
        store: Store,
        models_dir: Path,
        poll_s: float = 1.0,
        cache_customers: int = 200_000,
    ) -> None:
        self.store = store
        self.models_dir = Path(models_dir)
        self.poll_s = poll_s
        self.cache_customers = cache_customers
        self.started = False
        self._models: dict[str, _TenantModel] = {}
        self._checked: dict[str, tuple[float, str | None]] = {}
        self._loading: set[str] = set()
        self._stop = threading.Event()  # set by close(): background work ends early
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._popular: dict[str, _StorePopularity] = {}
        self._policies: dict[str, tuple[float, bool]] = {}
        self.load_errors: dict[str, str] = {}

    # ------------------------------------------------------------------ model lifecycle
    def _load(self, tenant: str, version: str) -> _TenantModel:
        folder = version_folder(self.models_dir, tenant, version)
        # The version is read first: a change made while the items are read is applied again by
        # the next sync, never missed.
        catalog_version = self.store.catalog_version(tenant)
        items = list(self.store.iter_items(tenant, include_deleted=True))
        model = LoadedModel.load(folder, catalog=items)
        weights = InteractionWeights.from_dict(model.meta.get("weights") or {})
        same_rows = (
            dict(weights.type_weights) == dict(INGEST_WEIGHTS.type_weights)
            and weights.rating_scale == INGEST_WEIGHTS.rating_scale
            and weights.rating_offset == INGEST_WEIGHTS.rating_offset
            and weights.quantity == INGEST_WEIGHTS.quantity
        )
        return _TenantModel(
            model=model,
            catalog_version=catalog_version,
            weights=weights,
            exact_history=not same_rows or weights.half_life_days is not None,
            category_of={i.item_id: i.category for i in items},
            foldin=IncrementalFoldIn(model) if model.uses_factors else None,
            item_id_list=[str(i) for i in model.item_ids.tolist()],
        )

    def _swap_in_background(self, tenant: str, version: str) -> None:
        def run() -> None:
            try:
                loaded = self._load(tenant, version)
                self._models[tenant] = loaded  # one reference swap: requests see old or new
                self.warm(tenant, loaded)
                self.load_errors.pop(tenant, None)
                log.info("tenant %s now serves model %s", tenant, version)
            except Exception as exc:  # keep serving the old version, report on /readyz
                self.load_errors[tenant] = f"{version}: {exc}"
                log.exception("loading model %s of tenant %s failed", version, tenant)
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

    def start(self) -> None:
        """Load every active model and precompute its answers in the background (start-up);
        :meth:`ready` says when that is done."""
        self._in_background(self.preload, "reco-preload")

    def close(self, timeout: float = 10.0) -> None:
        """Stop background loading and warming and wait for it (before the store closes)."""
        self._stop.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def model_for(self, tenant: str, catalog_version: int | None = None) -> _TenantModel | None:
        """The tenant's serving model, following activations and catalog changes (the store's
        catalog version is read unless the caller just read it)."""
        now = time.monotonic()
        checked = self._checked.get(tenant)
        if checked is None or now - checked[0] >= self.poll_s:
            active = self.store.active_model(tenant)
            self._checked[tenant] = (now, active)
        else:
            active = checked[1]
        current = self._models.get(tenant)
        if active is None:
            self._models.pop(tenant, None)
            return None
        if current is None:
            # First request of this tenant in this worker: load now (nothing to serve before).
            try:
                current = self._models[tenant] = self._load(tenant, active)
                self.load_errors.pop(tenant, None)
            except Exception as exc:
                self.load_errors[tenant] = f"{active}: {exc}"
                log.exception("loading model %s of tenant %s failed", active, tenant)
                return None
        elif current.model.version != active:
            self._swap_in_background(tenant, active)
        self._sync_catalog(tenant, current, catalog_version)
        return current

    def _sync_catalog(self, tenant: str, tm: _TenantModel, version: int | None = None) -> None:
        if version is None:
            version = self.store.catalog_version(tenant)
        if version == tm.catalog_version:
            return
        version, changed = self.store.items_changed_since(tenant, tm.catalog_version)
        reload_needed = False
        for item in changed:
            if item.item_id not in tm.model.item_index:
                reload_needed |= item.available  # a new item: needs attribute proxies
                continue
            tm.model.set_available([item.item_id], item.available)
            if tm.category_of.get(item.item_id) != item.category:
                reload_needed = True  # category masks are built at load
        tm.catalog_version = version
        if reload_needed:
            self._swap_in_background(tenant, tm.model.version)

    def preload(self) -> None:
        """Load every tenant's active model and precompute its answers (at start-up)."""
        try:
            for tenant in self.store.list_tenants():
                if self._stop.is_set():
                    return
                tm = self.model_for(tenant)
                if tm is not None:
                    self.warm(tenant, tm)
        finally:
            self.started = True

    def ready(self) -> bool:
        """Ready once start-up loading finished and no active version failed to load."""
        return self.started and not self.load_errors

    def warm(self, tenant: str, tm: _TenantModel) -> int:
        """Precompute the answers of the most recently active customers; returns how many."""
        if tm.exact_history:
            return 0
        frame = self.store.events_frame(tenant)
        if not len(frame):
            return 0
        last: dict[str, float] = {}
        for cid, ts in zip(frame.customer_id.tolist(), frame.timestamp.tolist(), strict=True):
            last[cid] = ts  # frames are in time order: the last write is the latest event
        recent = sorted(last, key=last.__getitem__, reverse=True)[: self.cache_customers]
        repurchase = self._policy(tenant)
        for cid in recent:
            if self._stop.is_set():
                break
            version = self.store.serving_versions(tenant, cid).customer
            self._precompute(tm, tenant, cid, version, repurchase)
        return len(recent)

    def forget_customer(self, tenant: str, customer_id: str) -> None:
        """Erasure: drop the customer's cached vector from this worker."""
        tm = self._models.get(tenant)
        if tm is not None:
            tm.answers.pop(customer_id, None)
            if tm.foldin is not None:
                tm.foldin.forget(customer_id)

    # ------------------------------------------------------------------ customer rows
    def _history(self, tenant: str, customer_id: str, tm: _TenantModel) -> CustomerHistory:
        index = tm.model.item_index
        if tm.exact_history:
            events = self.store.customer_events(tenant, customer_id)
            if not events:
                return CustomerHistory.empty()
            from core.records import EventFrame

            return history_row(EventFrame.from_events(events), index, tm.weights, time.time())
        row = self.store.customer_items(tenant, customer_id)
        raw = dict(zip(row.item_ids, row.weights, strict=True))
        bought = [i for i, p in zip(row.item_ids, row.purchased, strict=True) if p]
        return finalize_history(raw, index, tm.weights, bought)

    def _precompute(
        self, tm: _TenantModel, tenant: str, customer_id: str, version: int, repurchase: bool
    ) -> _Precomputed:
        """Score the customer's general top-``CACHE_DEPTH`` and remember it under ``version``
        (read before the profile and the row: a change in between leaves the entry stale,
        never wrong)."""
        customer = self.store.get_customer(tenant, customer_id)
        row = self.store.customer_items(tenant, customer_id)
        raw = dict(zip(row.item_ids, row.weights, strict=True))
        bought = [i for i, p in zip(row.item_ids, row.purchased, strict=True) if p]
        hist = finalize_history(raw, tm.model.item_index, tm.weights, bought)
        if customer is not None and not customer.consent_personalization:
            purchased = None if repurchase else hist.purchased
            rec = tm.model.popular(CACHE_DEPTH, purchased_idx=purchased)
            fallback: str | None = NO_CONSENT
        else:
            rec = self._personal(
                tm, customer_id, hist, CACHE_DEPTH, repurchase, segment=self._segment(customer)
            )
            fallback = rec.fallback
        pre = _Precomputed(
            version, tm.catalog_version, repurchase, rec.item_idx, rec.scores, fallback
        )
        with self._lock:  # the warm-up thread and requests share the LRU
            tm.answers[customer_id] = pre
            tm.answers.move_to_end(customer_id)
            while len(tm.answers) > self.cache_customers:
                tm.answers.popitem(last=False)
        return pre

    def _purchased_ids(self, tenant: str, customer_id: str) -> list[str]:
        row = self.store.customer_items(tenant, customer_id)
        return [i for i, p in zip(row.item_ids, row.purchased, strict=True) if p]

    @staticmethod
    def _indices(tm: _TenantModel, ids: Sequence[str]) -> np.ndarray:
        index = tm.model.item_index
        return np.array([index[i] for i in ids if i in index], dtype=np.int64)

    def _policy(self, tenant: str) -> bool:
        """The repurchase rule, re-read at most every ``poll_s`` seconds like the model."""
        now = time.monotonic()
        cached = self._policies.get(tenant)
        if cached is None or now - cached[0] >= self.poll_s:
            policy = self.store.get_tenant_config(tenant).get("policy") or {}
            cached = self._policies[tenant] = (now, bool(policy.get("allow_repurchase", False)))
        return cached[1]

    @staticmethod
    def _segment(customer: Customer | None) -> str | None:
        if customer is None:
            return None
        seg = customer.attributes.get("segment")
        return str(seg) if seg is not None else None

    # ------------------------------------------------------------------ answers
    def _answer(self, tm: _TenantModel, rec: Recommendation, fallback: str | None) -> Answer:
        ids = tm.item_id_list
        items = [
            RecommendedItem(ids[i], s, [_public_reason(r) for r in reasons])
            for i, s, reasons in zip(
                rec.item_idx.tolist(), rec.scores.tolist(), rec.reasons, strict=True
            )
        ]
        return Answer(tm.model.version, items, fallback if fallback else rec.fallback)

    def recommend(
        self,
        tenant: str,
        customer_id: str,
        n: int = 10,
        *,
        category: str | None = None,
        exclude: Sequence[str] = (),
        explain: bool = False,
    ) -> Answer:
        """Personalised top-``n`` for a customer (popular items for unknown customers).

        Usually one read of the store: the customer's and the catalog's versions, which tell
        whether the customer's precomputed list still holds; when either changed (an event, a
        profile, an erasure, a catalog change, on any worker) the list is recomputed first, so
        the answer always reflects the last interaction.
        """
        versions = self.store.serving_versions(tenant, customer_id)
        repurchase = self._policy(tenant)
        tm = self.model_for(tenant, versions.catalog)
        if tm is None:
            bought = set() if repurchase else set(self._purchased_ids(tenant, customer_id))
            return self._store_popular(tenant, n, category, set(exclude) | bought)
        if not tm.exact_history and not explain:
            pre = tm.answers.get(customer_id)
            if (
                pre is None
                or pre.customer_version != versions.customer
                or pre.catalog_version != tm.catalog_version
                or pre.repurchase != repurchase
            ):
                pre = self._precompute(tm, tenant, customer_id, versions.customer, repurchase)
            answer = self._from_precomputed(tm, pre, n, category, exclude)
            if answer is not None:
                return answer
        exclude_idx = self._indices(tm, exclude)
        customer = self.store.get_customer(tenant, customer_id)
        if customer is not None and not customer.consent_personalization:
            purchased = (
                None if repurchase else self._indices(tm, self._purchased_ids(tenant, customer_id))
            )
            rec = tm.model.popular(
                n, category=category, exclude_idx=exclude_idx, purchased_idx=purchased
            )
            return self._answer(tm, rec, NO_CONSENT)
        hist = self._history(tenant, customer_id, tm)
        rec = self._personal(
            tm,
            customer_id,
            hist,
            n,
            repurchase,
            segment=self._segment(customer),
            exclude_idx=exclude_idx,
            category=category,
            explain=explain,
        )
        return self._answer(tm, rec, None)

    @staticmethod
    def _personal(
        tm: _TenantModel,
        customer_id: str,
        hist: CustomerHistory,
        n: int,
        repurchase: bool,
        *,
        segment: str | None = None,
        exclude_idx: np.ndarray | None = None,
        category: str | None = None,
        explain: bool = False,
    ) -> Recommendation:
        """Score a history row, with the customer's cached vector for factor models."""
        vector = None
        if tm.foldin is not None and len(hist.idx):
            vector = tm.foldin.vector(customer_id, hist.idx, hist.weights)
        return tm.model.recommend_for_history(
            hist.idx,
            hist.weights,
            n,
            purchased_idx=hist.purchased,
            allow_repurchase=repurchase,
            exclude_idx=exclude_idx,
            category=category,
            explain=explain,
            segment=segment,
            user_vector=vector,
        )

    def _from_precomputed(
        self,
        tm: _TenantModel,
        pre: _Precomputed,
        n: int,
        category: str | None,
        exclude: Sequence[str],
    ) -> Answer | None:
        """The answer from a current precomputed list, or None when the request's filters leave
        fewer than ``n`` of its items (the caller then computes it live)."""
        n = max(0, min(n, MAX_N))
        plain = category is None and not exclude
        if plain:
            cached = pre.by_n.get(n)
            if cached is not None:
                return cached
        keep = tm.model.allowed(pre.item_idx, category)
        if not plain:
            keep &= ~np.isin(pre.item_idx, self._indices(tm, exclude))
        exhaustive = len(pre.item_idx) < CACHE_DEPTH  # the list already holds every candidate
        if int(keep.sum()) < n and not exhaustive:
            return None
        idx, scores = pre.item_idx[keep][:n], pre.scores[keep][:n]
        rec = Recommendation(idx, scores, [[] for _ in range(len(idx))], None)
        answer = self._answer(tm, rec, pre.fallback)
        if plain and len(pre.by_n) < _ANSWERS_PER_CUSTOMER:
            # the catalog version is part of the entry's key, so availability cannot change
            # under a cached answer
            pre.by_n[n] = answer
        return answer

    def similar(
        self, tenant: str, item_id: str, n: int = 10, *, category: str | None = None
    ) -> Answer | None:
        """Items like ``item_id``; None when the item is neither in the catalog nor the model."""
        tm = self.model_for(tenant)
        if tm is None:
            if self.store.get_item(tenant, item_id) is None:
                return None
            return self._store_popular(tenant, n, category, {item_id})
        idx = tm.model.item_index.get(item_id)
        if idx is None:
            # A catalog item the loaded model has not seen yet: trigger a reload, serve popular.
            if self.store.get_item(tenant, item_id) is None:
                return None
            self._swap_in_background(tenant, tm.model.version)
            rec = tm.model.popular(n, category=category, exclude_idx=np.array([], np.int64))
            return self._answer(tm, rec, POPULAR)
        rec = tm.model.similar(idx, n, category=category)
        return self._answer(tm, rec, None)

    def cross_sell(
        self,
        tenant: str,
        basket: Sequence[str],
        customer_id: str | None = None,
        n: int = 10,
        *,
        explain: bool = True,
    ) -> Answer:
        """What goes with a basket (and, when given, with the customer's history)."""
        tm = self.model_for(tenant)
        repurchase = self._policy(tenant)
        if tm is None:
            bought = (
                set(self._purchased_ids(tenant, customer_id))
                if (customer_id and not repurchase)
                else set()
            )
            return self._store_popular(tenant, n, None, set(basket) | bought)
        basket_idx = self._indices(tm, basket)
        hist = CustomerHistory.empty()
        if customer_id is not None:
            customer = self.store.get_customer(tenant, customer_id)
            if customer is None or customer.consent_personalization:
                hist = self._history(tenant, customer_id, tm)
            else:  # no personalisation: only the rule against repeating a purchase applies
                purchased = self._indices(tm, self._purchased_ids(tenant, customer_id))
                hist = CustomerHistory(hist.idx, hist.weights, purchased.astype(np.int32))
        if len(basket_idx) == 0 and len(hist.idx) == 0:
            rec = tm.model.popular(
                n,
                exclude_idx=self._indices(tm, basket),
                purchased_idx=None if repurchase else hist.purchased,
            )
            return self._answer(tm, rec, POPULAR)
        rec = tm.model.cross_sell(
            basket_idx,
            n,
            hist_idx=hist.idx,
            hist_w=hist.weights,
            purchased_idx=hist.purchased,
            allow_repurchase=repurchase,
            explain=explain,
        )
        return self._answer(tm, rec, None)

    # ------------------------------------------------------------------ no model yet
    def _store_popular(
        self, tenant: str, n: int, category: str | None, exclude: set[str]
    ) -> Answer:
        pop = self._popular.get(tenant)
        if pop is None or time.monotonic() - pop.computed_at > 60.0:
            frame = self.store.events_frame(tenant, types=("purchase", "add_to_cart"))
            counts = Counter(frame.item_id.tolist())
            counts.pop("", None)
            pop = _StorePopularity([i for i, _ in counts.most_common(1000)], time.monotonic())
            self._popular[tenant] = pop
        items: list[RecommendedItem] = []
        n = max(0, min(n, MAX_N))
        for item_id in pop.item_ids:
            if len(items) >= n:
                break
            if item_id in exclude:
                continue
            item = self.store.get_item(tenant, item_id)
            if item is None or not item.available:
                continue
            if category is not None and item.category != category:
                continue
            items.append(RecommendedItem(item_id, 0.0, [{"type": "popular"}]))
        return Answer(None, items, POPULAR)


def _public_reason(reason: dict[str, Any]) -> dict[str, Any]:
    """Reasons as the API shows them: a type and, when any, item ids (as strings)."""
    out: dict[str, Any] = {"type": str(reason.get("type", "model"))}
    ids = reason.get("item_ids")
    if ids:
        out["item_ids"] = [str(i) for i in ids]
    return out
