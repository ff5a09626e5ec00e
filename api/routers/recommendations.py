"""Recommendations: for a customer, for an item, for a basket (``Customize`` by cross-selling)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.datastructures import QueryParams

from api.deps import RecommenderDep, RecommendKey, recommender_of, require_scope
from api.hot_routes import hot_route
from api.problems import Problem, validation_errors
from api.routing import StrictJSONRoute
from api.schemas.common import CategoryFilter, Identifier
from api.schemas.recommendations import CrossSellCreate, RecommendationsPublic
from recommender.answers import Answer

router = APIRouter(tags=["recommendations"], route_class=StrictJSONRoute)

N = Annotated[int, Query(ge=1, le=100, description="how many items (1-100)")]


def _body(answer: Answer, explain: bool) -> dict[str, Any]:
    """The response document (``reasons`` only with ``explain``, ``experiment`` only when an
    experiment arm answered)."""
    body: dict[str, Any] = {
        "model_version": answer.model_version,
        "items": [
            {"item_id": i.item_id, "score": i.score, "reasons": i.reasons}
            if explain
            else {"item_id": i.item_id, "score": i.score}
            for i in answer.items
        ],
        "fallback": answer.fallback,
    }
    if answer.experiment is not None:
        body["experiment"] = answer.experiment
    return body


def _public(answer: Answer, explain: bool = True) -> RecommendationsPublic:
    return RecommendationsPublic.model_validate(_body(answer, explain))


class RecommendationQuery(BaseModel):
    """Query of ``GET /v1/customers/{customer_id}/recommendations``."""

    model_config = ConfigDict(frozen=True)

    n: int = Field(10, ge=1, le=100, description="how many items (1-100)")
    category: CategoryFilter | None = Field(
        None, description="only items of this category, or of these (comma-separated)"
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


#: Validated queries by their raw bytes: clients repeat a few short query strings (``n=10``)
#: and validating one is pure, so each is parsed once. Long ones (exclusion lists, which vary)
#: are not kept; the memo is cleared when full.
_QUERIES: dict[bytes, RecommendationQuery] = {}
_MAX_QUERIES = 4096
_MAX_KEPT_QUERY_BYTES = 256


def _query(raw: bytes) -> RecommendationQuery:
    """The validated query (raises ``ValidationError``)."""
    query = _QUERIES.get(raw)
    if query is None:
        query = RecommendationQuery.model_validate(dict(QueryParams(raw)))
        if len(raw) <= _MAX_KEPT_QUERY_BYTES:
            if len(_QUERIES) >= _MAX_QUERIES:
                _QUERIES.clear()
            _QUERIES[raw] = query
    return query


def _invalid(exc: ValidationError, *where: str) -> Problem:
    errors = [
        {"loc": [*where, *e["loc"]], "msg": e["msg"]} for e in validation_errors(exc.errors())
    ]
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    return Problem(422, f"invalid input: {fields}", errors=errors)


@router.get(
    "/v1/customers/{customer_id}/recommendations",
    response_model=RecommendationsPublic,
    openapi_extra={"parameters": _RECO_PARAMETERS, "security": [{"bearerKey": ["recommend"]}]},
)
@hot_route
async def recommend_for_customer(request: Request) -> Response:
    """Personalised cross-sell; unknown customers get popular items (``fallback``).

    The hottest route validates its path and query with the same rules and error shape as every
    other route, but by hand, and is dispatched without FastAPI's per-request machinery
    (``api/hot_routes.py``): that machinery cost more than the whole recommendation on a
    50k-item catalog (see load/bench_reco_serving.py).
    """
    key = await _require_recommend(request)
    try:
        customer_id = _CUSTOMER_ID.validate_python(request.path_params["customer_id"])
    except ValidationError as exc:
        raise _invalid(exc, "path", "customer_id") from None
    try:
        query = _query(request.scope["query_string"])
    except ValidationError as exc:
        raise _invalid(exc, "query") from None
    excluded = [x for x in (query.exclude or "").split(",") if x]
    answer = recommender_of(request).recommend(
        key.tenant,
        customer_id,
        query.n,
        category=query.category,
        exclude=excluded,
        explain=query.explain,
    )
    body = answer.encoded
    if body is None:
        body = orjson.dumps(_body(answer, query.explain))
        if not query.explain:  # an answer served again from the cache is encoded once
            answer.encoded = body
    return Response(body, media_type="application/json")


@router.get("/v1/items/{item_id}/similar", response_model=RecommendationsPublic)
async def similar_items(
    item_id: Identifier,
    key: RecommendKey,
    recommender: RecommenderDep,
    n: N = 10,
    category: Annotated[
        CategoryFilter | None,
        Query(description="only items of this category, or of these (comma-separated)"),
    ] = None,
    explain: Annotated[bool, Query(description="add reasons such as 'similar to X'")] = False,
) -> RecommendationsPublic:
    """ "Goes well with" for a product page; new catalog items are served by attributes."""
    answer = recommender.similar(key.tenant, item_id, n, category=category)
    if answer is None:
        raise Problem(404, f"item '{item_id}' not found")
    return _public(answer, explain)


@router.post("/v1/recommendations/cross-sell", response_model=RecommendationsPublic)
async def cross_sell(
    body: CrossSellCreate, key: RecommendKey, recommender: RecommenderDep
) -> RecommendationsPublic:
    """What to add to a basket or cart (never what is in it)."""
    answer = recommender.cross_sell(
        key.tenant, body.items, body.customer_id, body.n, explain=body.explain
    )
    return _public(answer, body.explain)
