"""Liveness, readiness and Prometheus metrics (no authentication)."""

from __future__ import annotations

import os

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from api.deps import RecommenderDep, StoreDep
from api.problems import problem_response
from api.routing import StrictJSONRoute
from recommender.metrics import flush as flush_model_metrics

router = APIRouter(tags=["operations"], route_class=StrictJSONRoute)


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The store answers and models are loaded")
async def readyz(store: StoreDep, recommender: RecommenderDep) -> Response:
    """503 names what is not ready; for models, which version of which tenant failed to load
    and why (ready again once every tenant serves its active version, e.g. after a roll-back)."""
    failing = [] if store.ping() else ["store"]
    models = recommender.readiness()
    if not models.ready:
        failing.append(f"models ({'; '.join(models.problems)})" if models.problems else "models")
    if failing:
        return problem_response(503, f"not ready: {', '.join(failing)}")
    return Response(b'{"status":"ready"}', media_type="application/json")


@router.get("/metrics", summary="Prometheus text format", response_class=Response)
async def metrics() -> Response:
    flush_model_metrics()  # this worker's queued answer counts (the others flush as they poll)
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        # Several workers: aggregate every worker's samples from the shared directory.
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
