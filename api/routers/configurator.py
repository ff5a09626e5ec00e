"""The configurator over HTTP (``/v1/configurator``) and customers' saved configurations.

The handlers parse, call :class:`configurator.service.ConfiguratorService` and map its errors
(whose ``loc`` is relative to the body) onto problem documents. Handlers that query the engine
are ``async def``: a configure is CPU work of about a millisecond serialised per configurator by
its own lock (CUDD is not thread-safe), so a thread-pool hop would only add latency
(``load/HISTORY.md`` has the measurements). Learning a customer's preferences (several store
reads) runs in the thread pool; writes are plain ``def``.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Path, Response
from starlette.concurrency import run_in_threadpool

from api.deps import AdminKey, ConfiguratorDep, ConfigureKey
from api.problems import Problem
from api.routing import StrictJSONRoute
from api.schemas.common import Identifier
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
from configurator import FamilyError, InputError, MalformedCode
from core.fields import finite_json

logger = logging.getLogger(__name__)

router = APIRouter(tags=["configurator"], route_class=StrictJSONRoute)

CodePath = Annotated[str, Path(min_length=5, max_length=1024, description="a variant code")]


def _dumps(body: Any) -> bytes:
    """orjson for speed; the standard library for integers beyond 64 bits (variant counts)."""
    try:
        return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError:
        return json.dumps(body).encode()


def _json(body: Any, status: int = 200) -> Response:
    return Response(_dumps(body), status_code=status, media_type="application/json")


def _invalid(exc: InputError) -> Problem:
    """A 422 naming the body fields at fault."""
    errors = [{"loc": ["body", *loc], "msg": msg} for loc, msg in [(exc.loc, exc.msg), *exc.more]]
    return Problem(422, str(exc), errors=errors)


def _bad_code(exc: MalformedCode, where: str) -> Problem:
    """A 422 naming the code (in the ``path`` or the ``body``)."""
    return Problem(422, str(exc), errors=[{"loc": [where, "code"], "msg": str(exc)}])


# -- products -------------------------------------------------------------------------------
@router.get("/v1/configurator/products", response_model=ProductList)
async def list_products(key: ConfigureKey, service: ConfiguratorDep) -> Response:
    """The tenant's configurable families: the reference ones and its own (which override)."""
    return _json({"products": [s.summary() for s in service.products(key.tenant)]})


@router.get("/v1/configurator/products/{product_id}", response_model=ProductPublic)
async def get_product(
    product_id: Identifier, key: ConfigureKey, service: ConfiguratorDep
) -> Response:
    """Attributes and options with price and lead-time effects, measurement inputs, text
    options, rules and the exact ``variant_count``."""
    served = service.product(key.tenant, product_id)
    if served.described is None:  # a version never changes: serialise it once
        served.described = _dumps({**served.cfg.describe(), "source": served.source})
    return Response(served.described, media_type="application/json")


@router.put(
    "/v1/configurator/products/{product_id}",
    response_model=ProductSummary,
    responses={201: {"model": ProductSummary, "description": "Created"}},
)
def put_product(
    product_id: Identifier,
    body: Annotated[
        dict[str, Any], finite_json, Body(description="a family definition (as in YAML files)")
    ],
    key: AdminKey,
    service: ConfiguratorDep,
) -> Response:
    """Load (201) or replace (200, a new version) a tenant family. It is validated and compiled
    before it is stored, so a broken family never reaches the store; ``version`` in the body is
    ignored (the store numbers versions)."""
    try:
        served = service.put_family(key.tenant, product_id, body)
    except FamilyError as exc:
        raise Problem(
            422, f"invalid family: {exc}", errors=[{"loc": ["body", *exc.loc], "msg": exc.msg}]
        ) from exc
    except InputError as exc:
        raise _invalid(exc) from exc
    return _json(served.summary(), status=201 if served.cfg.family.version == 1 else 200)


# -- configure ------------------------------------------------------------------------------
@router.post("/v1/configurator/products/{product_id}/configure", response_model=ConfigurePublic)
async def configure(
    product_id: Identifier, body: ConfigureCreate, key: ConfigureKey, service: ConfiguratorDep
) -> Response:
    """One interactive step: which options stay valid (and why others do not), conflicts to
    drop, the remaining variant count, fit from measurements and a suggested completion
    (personalised with ``customer_id``: see ``personalization`` in the answer). With
    ``customer_id``, the perks of the customer's tier apply: a discount in ``price`` and a
    priority lead time in ``lead_time_days`` (``list_price`` and ``list_lead_time_days`` keep
    the list figures; ``perks`` names the perks applied)."""
    served = service.product(key.tenant, product_id)
    personal = terms = None
    if body.customer_id is not None:
        # Several store reads (a round trip each on Redis): off the event loop.
        personal = await run_in_threadpool(
            service.personalization, key.tenant, body.customer_id, served.cfg
        )
        terms = await run_in_threadpool(service.customer_terms, key.tenant, body.customer_id)
    try:
        result = service.configure(
            served,
            body.selections,
            body.measurements,
            body.preferences,
            personal,
        )
    except InputError as exc:
        raise _invalid(exc) from exc
    answer = {**result.to_dict(), "personalization": personal and personal.to_dict()}
    return _json(answer if terms is None else terms.answer(answer))


# -- variant codes --------------------------------------------------------------------------
@router.get("/v1/configurator/variants/{code}", response_model=VariantDecoded)
async def get_variant(code: CodePath, key: ConfigureKey, service: ConfiguratorDep) -> Response:
    """Decode a variant code: selections, price with its breakdown, lead time with its steps.
    A garbled, forged or rule-breaking code answers 422, an unknown product or version 404."""
    try:
        decoded = service.variant(key.tenant, code)
    except MalformedCode as exc:
        raise _bad_code(exc, "path") from exc
    return _json(decoded.to_dict())


# -- saved configurations -------------------------------------------------------------------
@router.post(
    "/v1/customers/{customer_id}/configurations",
    status_code=201,
    response_model=ConfigurationPublic,
)
def save_configuration(
    customer_id: Identifier, body: ConfigurationCreate, key: ConfigureKey, service: ConfiguratorDep
) -> ConfigurationPublic:
    """Save a complete, valid variant for the customer, or reorder one by its ``code``.

    A reorder re-validates the code's selections against the product's current version (the
    capability trap: only what can be made today) and carries over the measurements and label
    of the customer's earlier configuration with that code. The configuration is also recorded
    as a ``configure`` event (``item_id`` null, context with product_id, code, version and
    configuration_id), so recommendations, insights and learned preferences see it.
    """
    try:
        saved = service.save_configuration(
            key.tenant,
            customer_id,
            code=body.code,
            product_id=body.product_id,
            selections=body.selections,
            measurements=body.measurements,
            label=body.label,
        )
    except MalformedCode as exc:
        raise _bad_code(exc, "body") from exc
    except InputError as exc:
        raise _invalid(exc) from exc
    return ConfigurationPublic.model_validate(saved)


@router.get("/v1/customers/{customer_id}/configurations", response_model=ConfigurationList)
def list_configurations(
    customer_id: Identifier, key: ConfigureKey, service: ConfiguratorDep
) -> ConfigurationList:
    """The customer's saved configurations, oldest first; reorder one by POSTing its code."""
    saved = service.saved_configurations(key.tenant, customer_id)
    return ConfigurationList(
        customer_id=customer_id,
        configurations=[ConfigurationPublic.model_validate(c) for c in saved],
    )
