"""Recommendations: for a customer, for an item, for a basket (``Customize`` by cross-selling)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request

from api.deps import RecommendKey
from api.problems import Problem
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.recommendations import CrossSellCreate, RecommendationsPublic
from recommender.service import Answer, RecommendationService

router = APIRouter(tags=["recommendations"], responses=PROBLEM_RESPONSES)

N = Annotated[int, Query(ge=1, le=100, description="how many items (1-100)")]


def install(app: FastAPI) -> None:
    settings = app.state.settings
    service = RecommendationService(app.state.store, settings.models_dir, settings.model_poll_s)
    app.state.recommender = service
    app.state.hooks.readiness["models"] = service.ready
    app.state.hooks.on_erasure.append(service.forget_customer)


def _service(request: Request) -> RecommendationService:
    return request.app.state.recommender


def _public(answer: Answer, explain: bool = True) -> RecommendationsPublic:
    return RecommendationsPublic.model_validate(
        {
            "model_version": answer.model_version,
            "fallback": answer.fallback,
            "items": [
                {
                    "item_id": i.item_id,
                    "score": i.score,
                    **({"reasons": i.reasons} if explain else {}),
                }
                for i in answer.items
            ],
        }
    )


@router.get(
    "/v1/customers/{customer_id}/recommendations",
    response_model=RecommendationsPublic,
)
async def recommend_for_customer(
    customer_id: Identifier,
    key: RecommendKey,
    request: Request,
    n: N = 10,
    category: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    exclude: Annotated[
        str | None, Query(max_length=20_000, description="comma-separated item ids")
    ] = None,
    explain: bool = False,
) -> RecommendationsPublic:
    """Personalised cross-sell; unknown customers get popular items (``fallback``)."""
    excluded = [x for x in (exclude or "").split(",") if x]
    answer = _service(request).recommend(
        key.tenant, customer_id, n, category=category, exclude=excluded, explain=explain
    )
    return _public(answer, explain)


@router.get(
    "/v1/items/{item_id}/similar",
    response_model=RecommendationsPublic,
)
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


@router.post(
    "/v1/recommendations/cross-sell",
    response_model=RecommendationsPublic,
)
async def cross_sell(
    body: CrossSellCreate, key: RecommendKey, request: Request
) -> RecommendationsPublic:
    """What to add to a basket or cart (never what is in it)."""
    answer = _service(request).cross_sell(key.tenant, body.items, body.customer_id, body.n)
    return _public(answer)
