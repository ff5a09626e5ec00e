"""The configurator over HTTP (``/v1/configurator``) and customers' saved configurations.

The handlers map requests onto :class:`configurator.service.FamilyRegistry` (the tenant's
compiled families). Handlers that query the engine are ``async def``: a configure is CPU work of
about a millisecond serialised per configurator by its own lock (CUDD is not thread-safe), so a
thread-pool hop would only add latency (``load/HISTORY.md`` has the measurements). Learning a
customer's preferences (several store reads) runs in the thread pool; writes are plain ``def``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Path, Response
from starlette.concurrency import run_in_threadpool

from api.deps import AdminKey, ConfiguratorDep, ConfigureKey, ListenersDep, StoreDep
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
    UnknownCode,
    Variant,
    load_family,
)
from configurator.service import FamilyRegistry, Served
from core.records import Event

logger = logging.getLogger(__name__)

router = APIRouter(tags=["configurator"], responses=PROBLEM_RESPONSES)

CodePath = Annotated[str, Path(min_length=5, max_length=1024, description="a variant code")]


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
async def list_products(key: ConfigureKey, registry: ConfiguratorDep) -> Response:
    """The tenant's configurable families: the reference ones and its own (which override)."""
    served = registry.products(key.tenant)
    return _json({"products": [s.summary() for s in served]})


@router.get("/v1/configurator/products/{product_id}", response_model=ProductPublic)
async def get_product(
    product_id: Identifier, key: ConfigureKey, registry: ConfiguratorDep
) -> Response:
    """Attributes and options with price and lead-time effects, measurement inputs, text
    options, rules and the exact ``variant_count``."""
    served = _product(registry, key.tenant, product_id)
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
    registry: ConfiguratorDep,
) -> Response:
    """Load (201) or replace (200, a new version) a tenant family. It is validated and compiled
    before it is stored, so a broken family never reaches the store; ``version`` in the body is
    ignored (the store numbers versions)."""
    try:
        family = load_family({**body, "version": 1})
        if family.id != product_id:
            raise FamilyError(f"id {family.id!r} does not match the path's {product_id!r}", ["id"])
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
    product_id: Identifier, body: ConfigureCreate, key: ConfigureKey, registry: ConfiguratorDep
) -> Response:
    """One interactive step: which options stay valid (and why others do not), conflicts to
    drop, the remaining variant count, fit from measurements and a suggested completion
    (personalised with ``customer_id``: see ``personalization`` in the answer)."""
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
async def get_variant(code: CodePath, key: ConfigureKey, registry: ConfiguratorDep) -> Response:
    """Decode a variant code: selections, price with its breakdown, lead time with its steps.
    A garbled or forged code answers 422, an unknown product or version 404."""
    try:
        served, variant = registry.decode(key.tenant, code)
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
    registry: ConfiguratorDep,
    listeners: ListenersDep,
) -> ConfigurationPublic:
    """Save a complete, valid variant for the customer, or reorder one by its ``code``.

    A reorder re-validates the code's selections against the product's current version (the
    capability trap: only what can be made today) and carries over the measurements and label
    of the customer's earlier configuration with that code. The configuration is also recorded
    as a ``configure`` event (``item_id`` null, context with product_id, code, version and
    configuration_id), so recommendations, insights and learned preferences see it.
    """
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
    listeners.events_stored(tenant, [event])
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
