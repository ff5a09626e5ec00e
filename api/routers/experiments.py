"""A/B experiments between model versions, and the recommendation reports that judge them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import AdminKey, ExperimentsDep, ReportsDep
from api.openapi import errors
from api.routing import StrictJSONRoute
from api.schemas.common import Identifier
from api.schemas.experiments import (
    ExperimentCreate,
    ExperimentList,
    ExperimentPublic,
    ReportPublic,
)

router = APIRouter(tags=["experiments"], route_class=StrictJSONRoute)


@router.get("/v1/experiments", response_model=ExperimentList)
def list_experiments(key: AdminKey, experiments: ExperimentsDep) -> Any:
    """The tenant's experiments, the running one first, then the newest started."""
    return {"experiments": experiments.list(key.tenant)}


@router.put(
    "/v1/experiments/{experiment_id}", response_model=ExperimentPublic, responses=errors(409)
)
def put_experiment(
    experiment_id: Identifier, body: ExperimentCreate, key: AdminKey, experiments: ExperimentsDep
) -> Any:
    """Start (or change) the tenant's experiment: each customer stays in one arm, on every
    worker; answers name it. Unknown versions 404, a split not adding up to 1 422, another
    running experiment 409."""
    return experiments.start(key.tenant, experiment_id, body.arms, body.split)


@router.get("/v1/experiments/{experiment_id}", response_model=ExperimentPublic)
def get_experiment(experiment_id: Identifier, key: AdminKey, experiments: ExperimentsDep) -> Any:
    """The experiment, each arm's serving state here and its running results."""
    return experiments.get(key.tenant, experiment_id)


@router.delete("/v1/experiments/{experiment_id}", response_model=ExperimentPublic)
def end_experiment(
    experiment_id: Identifier,
    key: AdminKey,
    experiments: ExperimentsDep,
    promote: Annotated[
        str | None,
        Query(
            max_length=32,
            description="activate an arm's version: an arm name, or 'winner' (the arm whose "
            "CTR is better with a 95% interval above 0; none when undecided)",
        ),
    ] = None,
) -> Any:
    """End the experiment (every answer is the active version's again); its results stay."""
    return experiments.end(key.tenant, experiment_id, promote)


@router.get(
    "/v1/reports/recommendations",
    response_model=ReportPublic,
    response_model_by_alias=True,
)
def recommendations_report(
    key: AdminKey,
    reports: ReportsDep,
    from_: Annotated[datetime | None, Query(alias="from", description="RFC 3339")] = None,
    to: Annotated[datetime | None, Query(description="RFC 3339, exclusive")] = None,
    by: Literal["model_version", "arm"] = "model_version",
    window_days: Annotated[float, Query(gt=0, le=365)] = 7.0,
    experiment_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> Any:
    """Impressions, clicks, CTR, conversions (a purchase of a shown item within
    ``window_days``) and revenue per impression per version or arm, each with a 95% interval,
    and each group's difference with the first."""
    return reports.recommendations(
        key.tenant,
        start=from_.timestamp() if from_ is not None else None,
        end=to.timestamp() if to is not None else None,
        by=by,
        window_days=window_days,
        experiment_id=experiment_id,
    )
