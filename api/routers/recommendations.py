"""Recommendations: for a customer, for an item, for a basket (``Customize`` by cross-selling)."""

from __future__ import annotations

import threading
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from api.deps import RecommendKey, require_scope
from api.problems import Problem
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.recommendations import CrossSellCreate, RecommendationsPublic
from recommender.service import Answer, RecommendationService

router = APIRouter(tags=["recommendations"], responses=PROBLEM_RESPONSES)

N = Annotated[int, Query(ge=1, le=100, description="how many items (1-100)")]


def install(app: FastAPI) -> None:
    settings = app.state.settings
    service = RecommendationService(
        app.state.store,
        settings.models_dir,
        settings.model_poll_s,
        cache_customers=settings.reco_cache_customers,
    )
    app.state.recommender = service
    # Load every active model and precompute answers before /readyz says ready.
    threading.Thread(target=service.preload, name="reco-preload", daemon=True).start()
    app.state.hooks.readiness["models"] = service.ready
    app.state.hooks.on_erasure.append(service.forget_customer)


def _service(request: Request) -> RecommendationService:
    return request.app.state.recommender


def _body(answer: Answer, explain: bool) -> dict[str, Any]:
    """The response document (``reasons`` only with ``explain``)."""
    return {
        "model_version": answer.model_version,
        "items": [
            {"item_id": i.item_id, "score": i.score, "reasons": i.reasons}
            if explain
            else {"item_id": i.item_id, "score": i.score}
            for i in answer.items
        ],
        "fallback": answer.fallback,
    }


def _public(answer: Answer, explain: bool = True) -> RecommendationsPublic:
    return RecommendationsPublic.model_validate(_body(answer, explain))


class RecommendationQuery(BaseModel):
    """Query of ``GET /v1/customers/{customer_id}/recommendations``."""

    n: int = Field(10, ge=1, le=100, description="how many items (1-100)")
    category: str | None = Field(
        None, min_length=1, max_length=128, description="only items of this category"
    )
    exclude: str | None = Field(
        None, max_length=20_000, description="comma-separated item ids never to return"
    )
    explain: bool = Field(False, description="add reasons such as 'because you bought X'")


_CUSTOMER_ID: TypeAdapter[str] = TypeAdapter(Identifier)
_require_recommend = require_scope("recommend")
_RECO_PARAMETERS = [
    {
        "name": "customer_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    },
    *(
        {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": schema.get("description", ""),
        }
        for name, schema in RecommendationQuery.model_json_schema()["properties"].items()
    ),
]


def _invalid(exc: ValidationError, *where: str) -> Problem:
    errors = [{"loc": [*where, *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    return Problem(422, f"invalid input: {fields}", errors=errors)


@router.get(
    "/v1/customers/{customer_id}/recommendations",
    response_model=RecommendationsPublic,
    openapi_extra={"parameters": _RECO_PARAMETERS},
)
async def recommend_for_customer(request: Request) -> Response:
    """Personalised cross-sell; unknown customers get popular items (``fallback``).

    The hottest route validates its path and query with the same rules and error shape as every
    other route, but by hand: FastAPI's per-parameter machinery costs more than the whole
    recommendation on a 50k-item catalog (see load/bench_reco_serving.py).
    """
    key = await _require_recommend(request)
    try:
        customer_id = _CUSTOMER_ID.validate_python(request.path_params["customer_id"])
    except ValidationError as exc:
        raise _invalid(exc, "path", "customer_id") from None
    try:
        query = RecommendationQuery.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise _invalid(exc, "query") from None
    excluded = [x for x in (query.exclude or "").split(",") if x]
    answer = _service(request).recommend(
        key.tenant,
        customer_id,
        query.n,
        category=query.category,
        exclude=excluded,
        explain=query.explain,
    )
    return Response(orjson.dumps(_body(answer, query.explain)), media_type="application/json")


@router.get("/v1/items/{item_id}/similar", response_model=RecommendationsPublic)
async def similar_items(
    item_id: Identifier,
    key: RecommendKey,
    request: Request,
    n: N = 10,
    category: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> RecommendationsPublic:
    """ "Goes well with" for a product page; new catalog items are served by attributes."""
    answer = _service(request).similar(key.tenant, item_id, n, category=category)
    if answer is None:
        raise Problem(404, f"item '{item_id}' not found")
    return _public(answer)


@router.post("/v1/recommendations/cross-sell", response_model=RecommendationsPublic)
async def cross_sell(
    body: CrossSellCreate, key: RecommendKey, request: Request
) -> RecommendationsPublic:
    """What to add to a basket or cart (never what is in it)."""
    answer = _service(request).cross_sell(key.tenant, body.items, body.customer_id, body.n)
    return _public(answer)
