"""Liveness, readiness and Prometheus metrics (no key needed; see api.metrics for what a
scrape without one shows)."""

from __future__ import annotations

import os
from typing import Literal

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry
from pydantic import BaseModel

from api.deps import RecommenderDep, SettingsDep, StoreDep, authenticate
from api.metrics import TenantView, exposition
from api.openapi import SCHEME, errors, problem_response_doc
from api.problems import problem_response
from api.routing import StrictJSONRoute
from recommender.metrics import flush as flush_model_metrics

router = APIRouter(tags=["operations"], route_class=StrictJSONRoute)

#: Seconds a probe or client waits before asking ``/readyz`` again.
READY_RETRY_S = 1


class HealthPublic(BaseModel):
    status: Literal["ok"]


class ReadyPublic(BaseModel):
    status: Literal["ready"]


@router.get("/healthz", summary="The process is up", response_model=HealthPublic)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The store answers and models are loaded",
    response_model=ReadyPublic,
    responses={503: problem_response_doc(503, "not ready: `detail` says what and why")},
)
async def readyz(store: StoreDep, recommender: RecommenderDep) -> Response:
    """503 names what is not ready; for models, which version of which tenant failed to load
    and why (ready again once every tenant serves its active version, e.g. after a roll-back)."""
    failing = [] if store.ping() else ["store"]
    models = recommender.readiness()
    if not models.ready:
        failing.append(f"models ({'; '.join(models.problems)})" if models.problems else "models")
    if failing:
        return problem_response(
            503,
            f"not ready: {', '.join(failing)}",
            headers={"Retry-After": str(READY_RETRY_S)},
        )
    return Response(b'{"status":"ready"}', media_type="application/json")


@router.get(
    "/metrics",
    summary="Prometheus text format (tenant labels only for an admin key or by setting)",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}},
        **errors(401, 429, 503),
    },
    # No key needed; an admin key shows its own tenant's labels.
    openapi_extra={"security": [{}, {SCHEME: ["admin"]}]},
)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    """Without a key: totals, no tenant named. With an admin key: its own tenant's series, the
    rest added up (api.metrics). ``ATELIER_METRICS_TENANT_LABELS=true``: every tenant. A key
    that is sent must be valid (401 otherwise)."""
    view = TenantView.ALL if settings.metrics_tenant_labels else TenantView.TOTALS
    if not view.everyone and request.headers.get("authorization"):
        principal = await authenticate(request)
        if "admin" in principal.scopes:
            view = TenantView.of(principal.tenant)
    flush_model_metrics()  # this worker's queued answer counts (the others flush as they poll)
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Several workers: aggregate every worker's samples from the shared directory.
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(exposition(registry, view), media_type=CONTENT_TYPE_LATEST)
    return Response(exposition(REGISTRY, view), media_type=CONTENT_TYPE_LATEST)
