"""The configurator over HTTP (``/v1/configurator``) and customers' saved configurations.

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

Handlers that query the engine are ``async def``: the engine is CPU work of about a millisecond,
serialised per configurator by its own lock (CUDD is not thread-safe), so a thread-pool hop only
adds latency and lock/GIL contention. Measured with ``load/bench_http.py configure`` (one worker,
16 users, paired runs on a shared 2-core machine): with the engine of commit a2b10cd, ``async
def`` served 194-208 configure/s at p99 160-170 ms against 108-213/s at p99 180-290 ms for
``def``; with the faster engine in progress, 592-697/s at p99 90-94 ms against 336-359/s at p99
120-130 ms. ``def`` does keep ``/healthz`` faster in the same run (other routes are not queued
behind a configure): the trade-off to revisit if a configure ever costs tens of milliseconds.
Learning a customer's preferences (several store reads) runs in the thread pool; writes (saving
a configuration, loading a family) are plain ``def`` like the other writing routes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, FastAPI, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import AdminKey, ConfigureKey, StoreDep
from api.problems import Problem
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.configurator import (
    ConfigurationCreate,
    ConfigurationList,
    ConfigurationPublic,
    ConfigureCreate,
    ConfigurePublic,
    ProductList,
    ProductPublic,
    ProductSummary,
    VariantDecoded,
)
from configurator import (
    Configurator,
    FamilyError,
    InputError,
    MalformedCode,
    ProductFamily,
    UnknownCode,
    Variant,
    get_configurator,
    learn_preferences,
    load_family,
    parse_code,
    reference_families,
)
from core.records import Event
from store.base import Store

logger = logging.getLogger(__name__)

router = APIRouter(tags=["configurator"], responses=PROBLEM_RESPONSES)

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

CodePath = Annotated[str, Path(min_length=5, max_length=1024, description="a variant code")]


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


def install(app: FastAPI) -> None:
    secret = app.state.settings.configurator_secret.get_secret_value()
    if not secret:
        logger.warning(
            "ATELIER_CONFIGURATOR_SECRET is not set: variant codes of the reference families "
            "can be forged by anyone who reads their definitions"
        )
    app.state.configurator = FamilyRegistry(app.state.store, secret.encode())


def _registry(request: Request) -> FamilyRegistry:
    return request.app.state.configurator


def _dumps(body: Any) -> bytes:
    """orjson for speed; the standard library for integers beyond 64 bits (variant counts)."""
    try:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:
        return json.dumps(body).encode()


def _json(body: Any, status: int = 200) -> Response:
    return Response(_dumps(body), status_code=status, media_type="application/json")


def _invalid(exc: InputError, prefix: tuple[str, ...] = ("body",)) -> Problem:
    errors = [{"loc": [*prefix, *loc], "msg": msg} for loc, msg in [(exc.loc, exc.msg), *exc.more]]
    return Problem(422, str(exc), errors=errors)


def _product(registry: FamilyRegistry, tenant: str, product_id: str) -> Served:
    served = registry.latest(tenant, product_id)
    if served is None:
        raise Problem(404, f"product '{product_id}' not found")
    return served


# -- products -------------------------------------------------------------------------------
@router.get("/v1/configurator/products", response_model=ProductList)
async def list_products(key: ConfigureKey, request: Request) -> Response:
    """The tenant's configurable families: the reference ones and its own (which override)."""
    served = _registry(request).products(key.tenant)
    return _json({"products": [s.summary() for s in served]})


@router.get("/v1/configurator/products/{product_id}", response_model=ProductPublic)
async def get_product(product_id: Identifier, key: ConfigureKey, request: Request) -> Response:
    """Attributes and options with price and lead-time effects, measurement inputs, text
    options, rules and the exact ``variant_count``."""
    served = _product(_registry(request), key.tenant, product_id)
    if served.described is None:
        served.described = _dumps({**served.cfg.describe(), "source": served.source})
    return Response(served.described, media_type="application/json")


@router.put(
    "/v1/configurator/products/{product_id}",
    response_model=ProductSummary,
    responses={201: {"model": ProductSummary, "description": "Created"}},
)
def put_product(
    product_id: Identifier,
    body: Annotated[dict[str, Any], Body(description="a family definition (as in YAML files)")],
    key: AdminKey,
    store: StoreDep,
    request: Request,
) -> Response:
    """Load (201) or replace (200, a new version) a tenant family. It is validated and compiled
    before it is stored, so a broken family never reaches the store; ``version`` in the body is
    ignored (the store numbers versions)."""
    try:
        family = load_family({**body, "version": 1})
        if family.id != product_id:
            raise FamilyError(f"id {family.id!r} does not match the path's {product_id!r}", ["id"])
        registry = _registry(request)
        # Compile under the version the store will most likely assign, so that the usual case
        # compiles once; a concurrent load of the same family just costs a second compile.
        expected = store.list_families(key.tenant).get(product_id, 0) + 1
        cfg = registry.compile(load_family({**family.to_json(), "version": expected}))
    except FamilyError as exc:
        raise Problem(
            422, f"invalid family: {exc}", errors=[{"loc": ["body", *exc.loc], "msg": exc.msg}]
        ) from exc
    if cfg.variant_count == 0:
        raise Problem(
            422,
            "the family admits no valid variant",
            errors=[{"loc": ["body", "rules"], "msg": "the rules exclude every variant"}],
        )
    doc = {k: v for k, v in family.to_json().items() if k != "version"}
    version = store.put_family(key.tenant, product_id, doc)
    if version != expected:
        cfg = registry.compile(load_family({**doc, "version": version}))
    served = registry.remember(key.tenant, cfg)
    return _json(served.summary(), status=201 if version == 1 else 200)


# -- configure ------------------------------------------------------------------------------
@router.post("/v1/configurator/products/{product_id}/configure", response_model=ConfigurePublic)
async def configure(
    product_id: Identifier, body: ConfigureCreate, key: ConfigureKey, request: Request
) -> Response:
    """One interactive step: which options stay valid (and why others do not), conflicts to
    drop, the remaining variant count, fit from measurements and a suggested completion
    (personalised with ``customer_id``: see ``personalization`` in the answer)."""
    registry = _registry(request)
    served = _product(registry, key.tenant, product_id)
    personalization = None
    if body.customer_id is not None:
        # Several store reads (a round trip each on Redis): off the event loop.
        personalization = await run_in_threadpool(
            registry.learn, key.tenant, body.customer_id, served.cfg
        )
    try:
        result = served.cfg.configure(
            body.selections,
            body.measurements,
            body.preferences,
            personalization["learned"] if personalization else None,
        )
    except InputError as exc:
        raise _invalid(exc) from exc
    return _json({**result.to_dict(), "personalization": personalization})


# -- variant codes --------------------------------------------------------------------------
def _decoded(served: Served, variant: Variant) -> dict[str, Any]:
    cfg = served.cfg
    price = cfg.price(variant.selections)
    lead = cfg.lead_time(variant.selections)
    return {
        "code": variant.code,
        "product_id": cfg.family.id,
        "version": cfg.family.version,
        "selections": variant.selections,
        "complete": variant.complete,
        "missing": variant.missing,
        "price": variant.price,
        "currency": cfg.family.currency,
        "price_breakdown": price,
        "lead_time_days": variant.lead_time_days,
        "lead_time": lead,
    }


@router.get("/v1/configurator/variants/{code}", response_model=VariantDecoded)
async def get_variant(code: CodePath, key: ConfigureKey, request: Request) -> Response:
    """Decode a variant code: selections, price with its breakdown, lead time with its steps.
    A garbled or forged code answers 422, an unknown product or version 404."""
    try:
        served, variant = _registry(request).decode(key.tenant, code)
    except MalformedCode as exc:
        raise Problem(422, str(exc), errors=[{"loc": ["path", "code"], "msg": str(exc)}]) from exc
    except UnknownCode as exc:
        raise Problem(404, str(exc)) from exc
    return _json(_decoded(served, variant))


# -- saved configurations -------------------------------------------------------------------
def _missing_selections(cfg: Configurator, selections: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "loc": ["body", "selections", name],
            "msg": "no option selected (a saved configuration must be a complete variant)",
        }
        for name in cfg.names
        if name not in selections
    ]


@router.post(
    "/v1/customers/{customer_id}/configurations",
    status_code=201,
    response_model=ConfigurationPublic,
)
def save_configuration(
    customer_id: Identifier,
    body: ConfigurationCreate,
    key: ConfigureKey,
    store: StoreDep,
    request: Request,
) -> ConfigurationPublic:
    """Save a complete, valid variant for the customer, or reorder one by its ``code``.

    A reorder re-validates the code's selections against the product's current version (the
    capability trap: only what can be made today) and carries over the measurements and label
    of the customer's earlier configuration with that code. The configuration is also recorded
    as a ``configure`` event (``item_id`` null, context with product_id, code, version and
    configuration_id), so recommendations, insights and learned preferences see it.
    """
    registry = _registry(request)
    tenant = key.tenant
    measurements = body.measurements
    label = body.label
    prefix: tuple[str, ...] = ("body",)
    if body.code is not None:
        try:
            served, old = registry.decode(tenant, body.code)
        except MalformedCode as exc:
            raise Problem(
                422, str(exc), errors=[{"loc": ["body", "code"], "msg": str(exc)}]
            ) from exc
        except UnknownCode as exc:
            raise Problem(404, str(exc)) from exc
        product_id = served.cfg.family.id
        current = registry.latest(tenant, product_id) or served
        selections = old.selections
        prefix = ("body", "code")
        earlier = next(
            (
                c
                for c in reversed(store.list_configurations(tenant, customer_id))
                if c.get("code") == body.code
            ),
            None,
        )
        if earlier is not None:
            measurements = measurements if measurements is not None else earlier.get("measurements")
            label = label if label is not None else earlier.get("label")
    else:
        assert body.product_id is not None and body.selections is not None
        product_id = body.product_id
        found = registry.latest(tenant, product_id)
        if found is None:
            raise Problem(
                422,
                f"product '{product_id}' not found",
                errors=[{"loc": ["body", "product_id"], "msg": "unknown product"}],
            )
        current = found
        selections = body.selections
        missing = _missing_selections(current.cfg, selections)
        if missing:
            names = ", ".join(str(e["loc"][-1]) for e in missing)
            raise Problem(422, f"incomplete configuration: no option for {names}", errors=missing)
    cfg = current.cfg
    try:
        if measurements:
            cfg.fit(measurements)  # validates names and plausible ranges
    except InputError as exc:
        raise _invalid(exc) from exc
    try:  # the engine refuses rule-breaking or incomplete variants (required texts included)
        spec = cfg.spec(selections, measurements)
    except InputError as exc:
        raise _invalid(exc, prefix) from exc
    doc: dict[str, Any] = {**spec, "label": label}
    if body.code is not None:
        doc["reorder_of"] = body.code
    configuration_id = uuid.uuid4().hex[:16]
    event = Event(
        event_id=f"configuration:{configuration_id}",
        customer_id=customer_id,
        type="configure",
        timestamp=time.time(),
        context={
            "product_id": spec["product_id"],
            "version": spec["version"],
            "code": spec["code"],
            "configuration_id": configuration_id,
        },
    )
    # One transaction: the saved spec and the configure event the models learn from.
    store.save_configuration(
        tenant, customer_id, doc, configuration_id=configuration_id, event=event
    )
    request.app.state.hooks.events_stored(tenant, [event])
    saved = next(
        (
            c
            for c in store.list_configurations(tenant, customer_id)
            if c.get("configuration_id") == configuration_id
        ),
        {**doc, "configuration_id": configuration_id, "created_at": time.time()},
    )
    return ConfigurationPublic.model_validate(saved)


@router.get("/v1/customers/{customer_id}/configurations", response_model=ConfigurationList)
def list_configurations(
    customer_id: Identifier, key: ConfigureKey, store: StoreDep
) -> ConfigurationList:
    """The customer's saved configurations, oldest first; reorder one by POSTing its code."""
    saved = store.list_configurations(key.tenant, customer_id)
    if not saved and not store.customer_known(key.tenant, customer_id):
        raise Problem(404, f"customer '{customer_id}' not found")
    return ConfigurationList(
        customer_id=customer_id,
        configurations=[ConfigurationPublic.model_validate(c) for c in saved],
    )
