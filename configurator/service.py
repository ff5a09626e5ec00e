"""The configurator as a per-worker service: which families a tenant sees, compiled once.

Families come from two places: the reference families shipped with Atelier (offered to every
tenant) and the tenant's own, loaded with ``PUT /v1/configurator/products/{id}`` or
``atelier configurator load``; a tenant family overrides a reference one of the same id.

Compile once: each worker keeps the compiled configurators in a :class:`FamilyRegistry` keyed by
``(tenant, family id, version)``. A version is immutable, so a compiled one never goes stale;
*which* version is current is asked of the store on every request (one ``list_families``
lookup: an indexed SQLite query or one Redis ``HGETALL``, tens of microseconds against the
~1 ms of a configure). So a family loaded through any worker, or the CLI, is served by every
worker on its very next request, with no TTL to wait out; a worker compiles a new version once,
on the first request that needs it (the loading worker compiles it before answering).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from configurator.codes import parse_code
from configurator.engine import Configurator, Variant, get_configurator, learn_preferences
from configurator.errors import MalformedCode, UnknownCode
from configurator.family import ProductFamily, load_family, reference_families
from store.base import Store

#: Learned preferences: a saved configuration (or a configured variant recorded as a
#: ``configure`` event) counts 1, a purchased item 2; both halve every HALF_LIFE_DAYS.
WEIGHT_CONFIGURATION = 1.0
WEIGHT_PURCHASE = 2.0
HALF_LIFE_DAYS = 180.0
#: The newest codes and purchased items read per configure call (bounded cost per request).
MAX_LEARNED_CODES = 100
MAX_LEARNED_PURCHASES = 200
#: Compiled tenant family versions kept per worker (reference families are always kept).
MAX_COMPILED = 256


@dataclass(slots=True)
class Served:
    """A compiled family as one tenant sees it."""

    cfg: Configurator
    source: str  # "reference" | "tenant"
    described: bytes | None = None  # the serialised describe() answer, built once

    def summary(self) -> dict[str, Any]:
        fam = self.cfg.family
        return {
            "product_id": fam.id,
            "name": fam.name,
            "description": fam.description,
            "kind": fam.kind,
            "version": fam.version,
            "currency": fam.currency,
            "base_price": float(fam.base_price),
            "variant_count": self.cfg.variant_count,
            "source": self.source,
        }


class FamilyRegistry:
    """Per-worker compiled families; see the module docstring for the consistency choice."""

    def __init__(self, store: Store, secret: bytes = b"") -> None:
        self.store = store
        self.secret = secret
        self._lock = threading.Lock()  # guards the LRU (routes run on the loop and in threads)
        self._compile_lock = threading.Lock()  # one compile at a time: never the same one twice
        self._tenant: OrderedDict[tuple[str, str, int], Served] = OrderedDict()
        self.reference: dict[str, Served] = {
            fid: Served(get_configurator(fam, secret=secret), "reference")
            for fid, fam in reference_families().items()
        }

    # -- resolution ----------------------------------------------------------------------------
    def products(self, tenant: str) -> list[Served]:
        """Every family the tenant can configure, latest versions, by id."""
        out = dict(self.reference)
        for fid, version in self.store.list_families(tenant).items():
            served = self.tenant_version(tenant, fid, version)
            if served is not None:
                out[fid] = served
        return [out[k] for k in sorted(out)]

    def latest(self, tenant: str, product_id: str) -> Served | None:
        """The current version of a family for the tenant (its own first), or None."""
        version = self.store.list_families(tenant).get(product_id)
        if version is not None:
            served = self.tenant_version(tenant, product_id, version)
            if served is not None:
                return served
        return self.reference.get(product_id)

    def tenant_version(self, tenant: str, product_id: str, version: int) -> Served | None:
        """One stored version of a tenant family, compiled once per worker."""
        key = (tenant, product_id, version)
        with self._lock:
            hit = self._tenant.get(key)
            if hit is not None:
                self._tenant.move_to_end(key)
                return hit
        found = self.store.get_family(tenant, product_id, version)
        if found is None:
            return None
        family = load_family({**found[1], "version": found[0]})
        return self.remember(tenant, self.compile(family))

    def compile(self, family: ProductFamily) -> Configurator:
        with self._compile_lock:
            return get_configurator(family, secret=self.secret)

    def remember(self, tenant: str, cfg: Configurator) -> Served:
        key = (tenant, cfg.family.id, cfg.family.version)
        with self._lock:
            served = self._tenant.setdefault(key, Served(cfg, "tenant"))
            self._tenant.move_to_end(key)
            while len(self._tenant) > MAX_COMPILED:
                self._tenant.popitem(last=False)
        return served

    def decode(
        self, tenant: str, code: str, tenant_families: Mapping[str, int] | None = None
    ) -> tuple[Served, Variant]:
        """The family version a code was issued by, and the decoded variant.

        The tenant's own family of that id and version is tried first, then a reference family
        of the same id and version (a tenant override numbers its versions from 1 too, so codes
        issued before the override still decode). Raises :class:`MalformedCode` (422) or
        :class:`UnknownCode` (404).
        """
        family_id, version, _ = parse_code(code)
        if tenant_families is None:
            tenant_families = self.store.list_families(tenant)
        candidates = []
        if 1 <= version <= tenant_families.get(family_id, 0):
            served = self.tenant_version(tenant, family_id, version)
            if served is not None:
                candidates.append(served)
        ref = self.reference.get(family_id)
        if ref is not None and ref.cfg.family.version == version:
            candidates.append(ref)
        if not candidates:
            raise UnknownCode(f"no product '{family_id}' version {version} for this tenant")
        error: MalformedCode | None = None
        for served in candidates:
            try:
                return served, served.cfg.decode(code)
            except MalformedCode as exc:
                error = error or exc
        assert error is not None
        raise error

    # -- learned preferences -------------------------------------------------------------------
    def learn(self, tenant: str, customer_id: str, cfg: Configurator) -> dict[str, Any]:
        """Soft preferences from the customer's history, mapped onto ``cfg``'s options.

        What is learned, with weights (halving every ``HALF_LIFE_DAYS``):

        - the selections of each saved configuration (its code decoded), weight 1;
        - the selections of each ``configure`` event whose ``context.code`` is a variant code and
          that is not the record of a saved configuration already counted, weight 1;
        - the ``attributes`` of each purchased catalog item (not returned afterwards), weight 2.

        Only pairs that name an attribute of ``cfg`` and one of its options count (codes of other
        families contribute the attributes they share, e.g. ``wash`` or ``delivery``); codes that
        no longer decode are skipped. Nothing is learned when the customer's profile withholds
        consent for personalization.
        """
        sources = {"configurations": 0, "configure_events": 0, "purchases": 0}
        out: dict[str, Any] = {"customer_id": customer_id, "learned": {}, "sources": sources}
        customer = self.store.get_customer(tenant, customer_id)
        if customer is not None and not customer.consent_personalization:
            return {**out, "status": "no_consent"}
        events = self.store.customer_events(tenant, customer_id)
        saved = self.store.list_configurations(tenant, customer_id)
        coded: list[tuple[str, float, str]] = []  # (code, timestamp, source)
        saved_ids = set()
        for c in saved:
            saved_ids.add(c.get("configuration_id"))
            if isinstance(c.get("code"), str):
                coded.append((c["code"], float(c.get("created_at") or 0), "configurations"))
        purchased: dict[str, float] = {}
        returned: set[str] = set()
        for e in events:
            if e.type == "configure" and e.context:
                code = e.context.get("code")
                if isinstance(code, str) and e.context.get("configuration_id") not in saved_ids:
                    coded.append((code, e.timestamp, "configure_events"))
            elif e.type == "purchase" and e.item_id is not None:
                purchased[e.item_id] = max(purchased.get(e.item_id, 0.0), e.timestamp)
            elif e.type == "return" and e.item_id is not None:
                returned.add(e.item_id)

        now = time.time()
        history: list[dict[str, str]] = []
        weights: list[float] = []

        def add(selections: Mapping[str, Any], weight: float, ts: float, source: str) -> None:
            picked = _onto(cfg, selections)
            if picked:
                history.append(picked)
                weights.append(weight * 0.5 ** (max(0.0, now - ts) / 86_400 / HALF_LIFE_DAYS))
                sources[source] += 1

        families = self.store.list_families(tenant)
        for code, ts, source in sorted(coded, key=lambda c: c[1])[-MAX_LEARNED_CODES:]:
            try:
                _, variant = self.decode(tenant, code, families)
            except (MalformedCode, UnknownCode):
                continue
            add(variant.selections, WEIGHT_CONFIGURATION, ts, source)
        kept = sorted((ts, i) for i, ts in purchased.items() if i not in returned)
        for ts, item_id in kept[-MAX_LEARNED_PURCHASES:]:
            item = self.store.get_item(tenant, item_id)
            if item is not None:
                add(item.attributes, WEIGHT_PURCHASE, ts, "purchases")
        learned = learn_preferences(history, weights) if history else {}
        return {**out, "learned": learned, "status": "applied" if learned else "no_history"}


def _onto(cfg: Configurator, selections: Mapping[str, Any]) -> dict[str, str]:
    """The (attribute, option) pairs of ``selections`` that exist in ``cfg``."""
    out = {}
    for name, value in selections.items():
        a = cfg.index.get(name)
        if a is not None and isinstance(value, str) and value in cfg.opt_index[a]:
            out[name] = value
    return out
