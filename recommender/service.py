"""Per-worker recommendation service: the three answers, for a customer, an item and a basket.

One instance lives in each worker process. Which version each tenant serves (activations,
background loads and swaps, catalog changes, refused versions) is the :class:`ModelRegistry`'s
business; the precomputed answers are each served version's :class:`AnswerCache`. A customer's
state is their history row in the store, read on each request; nothing user-specific is kept
here beyond caches that erasure clears.

The hot path (``recommend`` without ``explain``, the usual call): one store read (the
customer's and the catalog's serving versions), then a dictionary lookup of the customer's
precomputed list computed under the same versions, and a second one for the answer of the same
page size. An id merged into another customer (an alias) reads, in that same read, the versions
of the customer it names and is answered as that customer. When either version changed (an event, a profile, an erasure, a catalog change, on
any worker) the list is computed again first, so the answer always reflects the last
interaction. The tenant's policy (what the customer "already has",
:class:`~recommender.policy.RecommendationPolicy`) is kept per worker under the catalog version
it was read at: writing a policy advances that version, so the hot path never reads it.

Examples
--------
>>> service = RecommendationService(store, models_dir)           # doctest: +SKIP
>>> answer = service.recommend("shop", "cust-1", n=10, explain=True)  # doctest: +SKIP
>>> answer.model_version, [i.item_id for i in answer.items][:3]     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.facts import PREFERRED_CATEGORY, stated
from core.records import Customer, EventFrame
from recommender.answers import NO_CONSENT, POPULAR, Answer, RecommendedItem, public_reason
from recommender.cache import CACHE_DEPTH, Precomputed
from recommender.experiments import ArmContext, Experiment
from recommender.interactions import (
    CustomerHistory,
    finalize_history,
    history_row,
    serving_as_of,
)
from recommender.metrics import count_answer, count_cache, observe_foldin
from recommender.policy import RecommendationPolicy
from recommender.registry import ModelRegistry, Readiness, ServedModel
from recommender.selection import MAX_N, clip_n, in_categories
from recommender.serving import Recommendation
from store.base import Store


def _rows_by_customer(frame: EventFrame, customers: set[str]) -> dict[str, np.ndarray]:
    """Row indices of each of ``customers``' events in ``frame`` (in time order)."""
    ids = frame.customer_id.tolist()
    out: dict[str, list[int]] = {}
    for i, cid in enumerate(ids):
        if cid in customers:
            out.setdefault(cid, []).append(i)
    return {c: np.asarray(v, dtype=np.int64) for c, v in out.items()}


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a warm-up fills the answer cache: every entry it
    keeps is a survivor, so the collector would run full collections over the whole heap
    again and again (7 of 100-170 ms each on a 20,000-customer tenant, each a pause of every
    request the worker serves meanwhile). Entries hold no cycles; refcounting frees what the
    loop drops. Left off if it was off already (another warm-up runs)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _stated_first(served: ServedModel, rec: Recommendation, category: str) -> Recommendation:
    """``rec`` with the items of the stated ``category`` first (each part in its order).

    A stated preference is a feature of the customer, not a filter: the other items follow,
    so a customer whose category has few candidates still gets a full list."""
    if not len(rec.item_idx):
        return rec
    keep = served.model.allowed(rec.item_idx, category)
    order = np.concatenate([np.flatnonzero(keep), np.flatnonzero(~keep)])
    reasons = [rec.reasons[i] for i in order.tolist()] if rec.reasons else rec.reasons
    return Recommendation(rec.item_idx[order], rec.scores[order], reasons, rec.fallback)


def _union(first: Recommendation, rest: Recommendation, n: int) -> Recommendation:
    """The items of ``first``, then those of ``rest`` not in it, at most ``n``."""
    seen = set(first.item_idx.tolist())
    more = [i for i, item in enumerate(rest.item_idx.tolist()) if item not in seen]
    more = more[: max(0, n - len(first.item_idx))]
    return Recommendation(
        np.concatenate([first.item_idx, rest.item_idx[more]])[:n],
        np.concatenate([first.scores, rest.scores[more]])[:n],
        ([*first.reasons, *(rest.reasons[i] for i in more)])[:n],
        first.fallback if len(first.item_idx) else rest.fallback,
    )


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
        How often, at most, the store is asked which version is active.
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
        self.poll_s = poll_s
        self.cache_customers = cache_customers
        self.registry = ModelRegistry(
            store, models_dir, poll_s, cache_customers, on_load=self._warm
        )
        self._popular: dict[str, _StorePopularity] = {}
        self._policies: dict[str, tuple[int, RecommendationPolicy, Experiment | None]] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Load every active model and precompute its answers in the background (start-up)."""
        self.registry.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop background loading and warming and wait for it (before the store closes)."""
        self.registry.close(timeout)

    def wait_started(self, timeout: float | None = None) -> bool:
        """Wait until start-up loading has finished (or :meth:`close`); True when it has."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.registry.started and not self.registry.stopping:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return self.registry.started

    def ready(self) -> bool:
        """Ready once start-up loading finished and every active version serves."""
        return self.readiness().ready

    def readiness(self) -> Readiness:
        """:meth:`ready`, with what is not (which version of which tenant failed, and why)."""
        return self.registry.readiness()

    def forget_customer(self, tenant: str, customer_id: str) -> None:
        """Erasure: drop the customer's cached answers and vector from this worker."""
        for served in self.registry.all_served(tenant):
            served.answers.forget(customer_id)
            if served.foldin is not None:
                served.foldin.forget(customer_id)

    def _warm(self, tenant: str, served: ServedModel) -> int:
        """Precompute the answers of the most recently active customers; returns how many.

        A version whose weighting the store's rows do not hold (``exact_history``: type
        weights, rating transforms or a half-life of its own) gets its rows from the events
        read here once, so its hot path is the cached one too."""
        with _collector_paused():
            frame = self.store.events_frame(tenant)
            if not len(frame):
                return 0
            last: dict[str, float] = {}
            for cid, ts in zip(frame.customer_id.tolist(), frame.timestamp.tolist(), strict=True):
                last[cid] = ts  # frames are in time order: the last write is the latest event
            recent = sorted(last, key=last.__getitem__, reverse=True)[: self.cache_customers]
            policy = self._policy(tenant, served.catalog_version)
            rows = _rows_by_customer(frame, set(recent)) if served.exact_history else {}
            for cid in recent:
                if self.registry.stopping:
                    break
                version = self.store.serving_versions(tenant, cid).customer
                hist = None
                if served.exact_history:
                    events = frame.select(rows[cid])
                    as_of = serving_as_of(served.decay_as_of, events.timestamp)
                    hist = history_row(
                        events, served.model.item_index, served.weights, as_of, policy
                    )
                self._precompute(served, tenant, cid, version, policy, hist)
            return len(recent)

    # ------------------------------------------------------------------ answers
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

        Usually one read of the store (see the module docstring). Each answer is counted by
        model version, arm and fallback (:mod:`recommender.metrics`).
        """
        answer = self._recommend(
            tenant, customer_id, n, category=category, exclude=exclude, explain=explain
        )
        arm = answer.experiment["arm"] if answer.experiment else None
        count_answer(answer.model_version, answer.fallback, arm)
        return answer

    def _recommend(
        self,
        tenant: str,
        customer_id: str,
        n: int,
        *,
        category: str | None,
        exclude: Sequence[str],
        explain: bool,
    ) -> Answer:
        versions = self.store.serving_versions(tenant, customer_id)
        if versions.merged_into is not None:  # an alias answers as the customer it names
            customer_id = versions.merged_into
        policy, served, arm = self._route(tenant, customer_id, versions.catalog)
        if served is None:
            had = set(self._owned_ids(tenant, customer_id, policy)) | set(exclude)
            preferred = None if category is not None else self._preferred(tenant, customer_id)
            popular = self._store_popular(tenant, n, category or preferred, had)
            if preferred is not None and len(popular.items) < clip_n(n):  # then the others
                shown = had | {i.item_id for i in popular.items}
                rest = self._store_popular(tenant, n - len(popular.items), None, shown)
                popular = Answer(None, [*popular.items, *rest.items], POPULAR)
            return popular
        if not explain:
            pre = served.answers.get(
                customer_id, versions.customer, served.catalog_version, policy.mask
            )
            count_cache(pre is not None)
            if pre is None:
                pre = self._precompute(served, tenant, customer_id, versions.customer, policy)
            answer = self._from_precomputed(served, pre, n, category, exclude, arm)
            if answer is not None:
                return answer
        exclude_idx = self._indices(served, exclude)
        customer = self.store.get_customer(tenant, customer_id)
        if customer is not None and not customer.consent_personalization:
            owned = self._indices(served, self._owned_ids(tenant, customer_id, policy))
            rec = served.model.popular(
                n, category=category, exclude_idx=exclude_idx, purchased_idx=owned
            )
            return self._answer(served, rec, NO_CONSENT, arm)
        hist = self._history(tenant, customer_id, served, policy)
        preferred = None if category is not None else self._preferred(tenant, customer_id)

        def score(k: int, within: str | None) -> Recommendation:
            return self._personal(
                served,
                customer_id,
                hist,
                k,
                segment=self._segment(customer),
                exclude_idx=exclude_idx,
                category=within,
                explain=explain,
            )

        rec = score(n, category)
        if preferred is not None:  # the stated category's best first, then the others
            first = score(n, preferred)
            rec = _stated_first(served, _union(first, rec, n), preferred)
        return self._answer(served, rec, None, arm)

    def similar(
        self, tenant: str, item_id: str, n: int = 10, *, category: str | None = None
    ) -> Answer | None:
        """Items like ``item_id``; None when the item is neither in the catalog nor the model."""
        served = self.registry.model_for(tenant)
        if served is None:
            if self.store.get_item(tenant, item_id) is None:
                return None
            return self._store_popular(tenant, n, category, {item_id})
        idx = served.model.item_index.get(item_id)
        if idx is None:
            # A catalog item the loaded model has not seen yet: trigger a reload, serve popular.
            if self.store.get_item(tenant, item_id) is None:
                return None
            self.registry.reload(tenant)
            rec = served.model.popular(n, category=category, exclude_idx=np.array([], np.int64))
            return self._answer(served, rec, POPULAR)
        rec = served.model.similar(idx, n, category=category)
        return self._answer(served, rec, None)

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
        if customer_id is not None:
            versions = self.store.serving_versions(tenant, customer_id)
            customer_id = versions.merged_into or customer_id
            policy, served, arm = self._route(tenant, customer_id, versions.catalog)
        else:
            served, arm = self.registry.model_for(tenant), None
            policy = self._policy(tenant, served.catalog_version if served is not None else None)
        if served is None:
            had = set(self._owned_ids(tenant, customer_id, policy)) if customer_id else set()
            return self._store_popular(tenant, n, None, set(basket) | had)
        basket_idx = self._indices(served, basket)
        hist = CustomerHistory.empty()
        if customer_id is not None:
            customer = self.store.get_customer(tenant, customer_id)
            if customer is None or customer.consent_personalization:
                hist = self._history(tenant, customer_id, served, policy)
            else:  # no personalisation: only the policy's "already has it" rule applies
                owned = self._indices(served, self._owned_ids(tenant, customer_id, policy))
                hist = CustomerHistory(hist.idx, hist.weights, owned.astype(np.int32), hist.kinds)
        if len(basket_idx) == 0 and len(hist.idx) == 0:
            rec = served.model.popular(
                n, exclude_idx=self._indices(served, basket), purchased_idx=hist.excluded
            )
            return self._answer(served, rec, POPULAR, arm)
        rec = served.model.cross_sell(
            basket_idx,
            n,
            hist_idx=hist.idx,
            hist_w=hist.weights,
            purchased_idx=hist.excluded,
            explain=explain,
        )
        return self._answer(served, rec, None, arm)

    # ------------------------------------------------------------------ customer rows
    def _history(
        self, tenant: str, customer_id: str, served: ServedModel, policy: RecommendationPolicy
    ) -> CustomerHistory:
        index = served.model.item_index
        if served.exact_history:
            events = self.store.customer_events(tenant, customer_id)
            if not events:
                return CustomerHistory.empty()
            frame = EventFrame.from_events(events)
            as_of = serving_as_of(served.decay_as_of, frame.timestamp)
            return history_row(frame, index, served.weights, as_of, policy)
        row = self.store.customer_items(tenant, customer_id)
        raw = dict(zip(row.item_ids, row.weights, strict=True))
        kinds = dict(zip(row.item_ids, row.kinds, strict=True))
        return finalize_history(raw, index, served.weights, kinds, policy)

    def _precompute(
        self,
        served: ServedModel,
        tenant: str,
        customer_id: str,
        version: int,
        policy: RecommendationPolicy,
        hist: CustomerHistory | None = None,
    ) -> Precomputed:
        """Score the customer's general top-``CACHE_DEPTH`` and remember it under ``version``
        (read before the profile and the row: a change in between leaves the entry stale,
        never wrong). With a half-life the list holds until the customer's next write: decay
        scales all of one customer's weights alike, so item-based rankings do not change."""
        customer = self.store.get_customer(tenant, customer_id)
        if hist is None:
            hist = self._history(tenant, customer_id, served, policy)
        if customer is not None and not customer.consent_personalization:
            rec = served.model.popular(CACHE_DEPTH, purchased_idx=hist.excluded)
            fallback: str | None = NO_CONSENT
        else:
            rec = self._personal(
                served, customer_id, hist, CACHE_DEPTH, segment=self._segment(customer)
            )
            fallback = rec.fallback
            preferred = self._preferred(tenant, customer_id)
            if preferred is not None:
                rec = _stated_first(served, rec, preferred)
        pre = Precomputed(
            version, served.catalog_version, policy.mask, rec.item_idx, rec.scores, fallback
        )
        served.answers.put(customer_id, pre)
        return pre

    def _preferred(self, tenant: str, customer_id: str) -> str | None:
        """The category the customer said they shop for most (the fact ``preferred_category``
        of their answers), or None. Read when a list is computed, never on the cached path:
        an answer moves the customer's serving version."""
        value = stated(self.store.list_answers(tenant, customer_id)).get(PREFERRED_CATEGORY)
        return value if isinstance(value, str) else None

    def _owned_ids(self, tenant: str, customer_id: str, policy: RecommendationPolicy) -> list[str]:
        """The items the customer already has by ``policy`` (one read of their history row)."""
        if not policy.mask:
            return []
        row = self.store.customer_items(tenant, customer_id)
        return [i for i, k in zip(row.item_ids, row.kinds, strict=True) if k & policy.mask]

    @staticmethod
    def _indices(served: ServedModel, ids: Sequence[str]) -> np.ndarray:
        index = served.model.item_index
        return np.array([index[i] for i in ids if i in index], dtype=np.int64)

    def _policy(self, tenant: str, catalog_version: int | None) -> RecommendationPolicy:
        """The tenant's policy (see :meth:`_rules`)."""
        return self._rules(tenant, catalog_version)[0]

    def _rules(
        self, tenant: str, catalog_version: int | None
    ) -> tuple[RecommendationPolicy, Experiment | None]:
        """The tenant's policy and running experiment, read again only when the catalog
        version moved (writing either moves it: ``PolicyStore.put_tenant_config``,
        ``ExperimentStore``); ``None``: read them now."""
        cached = self._policies.get(tenant)
        if cached is not None and cached[0] == catalog_version:
            return cached[1], cached[2]
        doc = self.store.get_tenant_config(tenant).get("policy")
        policy = RecommendationPolicy.from_document(doc)
        running = self.store.running_experiment(tenant)
        experiment = Experiment.from_doc(running[1]) if running is not None else None
        self.registry.release_arms(tenant, set(experiment.arms.values()) if experiment else set())
        if catalog_version is not None:
            self._policies[tenant] = (catalog_version, policy, experiment)
        return policy, experiment

    def _route(
        self, tenant: str, customer_id: str, catalog_version: int
    ) -> tuple[RecommendationPolicy, ServedModel | None, ArmContext | None]:
        """The policy, the version that answers this customer and, in an experiment, the arm:
        the customer's own, or another arm's when that version cannot be loaded here."""
        policy, experiment = self._rules(tenant, catalog_version)
        if experiment is None:
            return policy, self.registry.model_for(tenant, catalog_version), None
        own = experiment.assign(tenant, customer_id)
        for arm in (own, *sorted(a for a in experiment.arms if a != own)):
            served = self.registry.model_for_version(tenant, experiment.arms[arm], catalog_version)
            if served is not None:
                return policy, served, experiment.context(arm)
        return policy, self.registry.model_for(tenant, catalog_version), None

    @staticmethod
    def _segment(customer: Customer | None) -> str | None:
        if customer is None:
            return None
        seg = customer.attributes.get("segment")
        return str(seg) if seg is not None else None

    # ------------------------------------------------------------------ scoring
    def _answer(
        self,
        served: ServedModel,
        rec: Recommendation,
        fallback: str | None,
        arm: ArmContext | None = None,
    ) -> Answer:
        ids = served.item_id_list
        items = [
            RecommendedItem(ids[i], s, [public_reason(r) for r in reasons])
            for i, s, reasons in zip(
                rec.item_idx.tolist(), rec.scores.tolist(), rec.reasons, strict=True
            )
        ]
        return Answer(served.model.version, items, fallback if fallback else rec.fallback, arm)

    @staticmethod
    def _personal(
        served: ServedModel,
        customer_id: str,
        hist: CustomerHistory,
        n: int,
        *,
        segment: str | None = None,
        exclude_idx: np.ndarray | None = None,
        category: str | None = None,
        explain: bool = False,
    ) -> Recommendation:
        """Score a history row (never what the customer already has, ``hist.excluded``), with
        the customer's cached vector for factor models."""
        vector = None
        if served.foldin is not None and len(hist.idx):
            start = time.perf_counter()
            vector = served.foldin.vector(customer_id, hist.idx, hist.weights)
            observe_foldin(time.perf_counter() - start)
        return served.model.recommend_for_history(
            hist.idx,
            hist.weights,
            n,
            purchased_idx=hist.excluded,
            exclude_idx=exclude_idx,
            category=category,
            explain=explain,
            segment=segment,
            user_vector=vector,
            hist_kinds=hist.kinds,
        )

    def _from_precomputed(
        self,
        served: ServedModel,
        pre: Precomputed,
        n: int,
        category: str | None,
        exclude: Sequence[str],
        arm: ArmContext | None = None,
    ) -> Answer | None:
        """The answer from a current precomputed list, or None when the request's filters leave
        fewer than ``n`` of its items (the caller then computes it live). A kept answer names
        the arm it was served for: within one catalog version a version serves one arm."""
        n = max(0, min(n, MAX_N))  # clip_n inline: this is the hot path
        plain = category is None and not exclude
        if plain:
            cached = pre.by_n.get(n)
            if cached is not None:
                return cached
        keep = served.model.allowed(pre.item_idx, category)
        if not plain:
            keep &= ~np.isin(pre.item_idx, self._indices(served, exclude))
        exhaustive = len(pre.item_idx) < CACHE_DEPTH  # the list already holds every candidate
        if int(keep.sum()) < n and not exhaustive:
            return None
        idx, scores = pre.item_idx[keep][:n], pre.scores[keep][:n]
        ids = served.item_id_list
        answer = Answer.ranked(
            served.model.version,
            tuple([ids[i] for i in idx.tolist()]),
            tuple(scores.tolist()),
            pre.fallback,
            arm,
        )
        if plain:
            pre.keep(n, answer)
        return answer

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
        n = clip_n(n)
        for item_id in pop.item_ids:
            if len(items) >= n:
                break
            if item_id in exclude:
                continue
            item = self.store.get_item(tenant, item_id)
            if item is None or not item.available:
                continue
            if not in_categories(item.category, category):
                continue
            items.append(RecommendedItem(item_id, 0.0, [{"type": "popular"}]))
        return Answer(None, items, POPULAR)
