"""Which families a tenant sees, compiled once per worker.

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

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> from store.embedded import SQLiteStore
>>> registry = FamilyRegistry(SQLiteStore(Path(tempfile.mkdtemp()) / "atelier.sqlite3"))
>>> [s.cfg.family.id for s in registry.products("shop")]
['logistics-bundle', 'original-spin']
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from configurator.codes import parse_code
from configurator.engine import Configurator, get_configurator
from configurator.errors import MalformedCode, UnknownCode, UnknownProduct
from configurator.family import ProductFamily, load_family, reference_families
from configurator.results import Variant
from configurator.secret import CodeKey
from store.base import Store

#: Compiled tenant family versions kept per worker (reference families are always kept).
MAX_COMPILED = 256


@dataclass(slots=True)
class Served:
    """A compiled family as one tenant sees it."""

    cfg: Configurator
    source: str  # "reference" | "tenant"
    described: bytes | None = None  # the serialised describe() answer, built once

    def summary(self) -> dict[str, Any]:
        """The family's line in the product list."""
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

    def __init__(self, store: Store, secret: bytes | Callable[[], bytes] | None = None) -> None:
        self.store = store
        # The key is asked for on first use (see configurator.secret): never at build time.
        if secret is None:
            secret = CodeKey(store)
        self._key: Callable[[], bytes] = secret if callable(secret) else CodeKey(None, secret)
        self._lock = threading.Lock()  # guards the LRU (routes run on the loop and in threads)
        self._compile_lock = threading.Lock()  # one compile at a time: never the same one twice
        self._tenant: OrderedDict[tuple[str, str, int], Served] = OrderedDict()
        self._reference: dict[str, Served] | None = None

    @property
    def secret(self) -> bytes:
        """The codes' key (resolved once; ``Unavailable`` while the store cannot say it)."""
        return self._key()

    @property
    def reference(self) -> dict[str, Served]:
        """The reference families, compiled with the key on first use."""
        if self._reference is None:
            secret = self.secret
            with self._compile_lock:
                if self._reference is None:
                    self._reference = {
                        fid: Served(get_configurator(fam, secret=secret), "reference")
                        for fid, fam in reference_families().items()
                    }
        return self._reference

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

    def product(self, tenant: str, product_id: str) -> Served:
        """:meth:`latest`, or :class:`UnknownProduct` (404)."""
        served = self.latest(tenant, product_id)
        if served is None:
            raise UnknownProduct(f"product '{product_id}' not found")
        return served

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
        """The family compiled (once per content; one compile at a time per worker)."""
        secret = self.secret
        with self._compile_lock:
            return get_configurator(family, secret=secret)

    def remember(self, tenant: str, cfg: Configurator) -> Served:
        """Keep a compiled tenant family version (the least recently used go first)."""
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
