"""Customer intelligence: each customer's value, tier and next step; Pareto; segments; the models.

``atelier insights --tenant T [--as-of DATE]`` fits the models and stores a summary (models,
Pareto, segments and the scoring state) and one row per customer. This module serves them and
keeps the rows current between runs: when a ``purchase`` or ``return`` event is stored, the
customers concerned are re-scored at once with the stored parameters fixed, as of their newest
event. The scoring itself (refresh rule, on-demand rows, horizons, the no-purchase answer) is the
value package's :class:`insights.scoring.CustomerValueScorer`, the job's own scoring path;
this module reads and writes the store, caches one scorer per tenant and maps to the schemas.

Decisions (also in the OpenAPI descriptions):

* No job run for the tenant: the insights endpoints answer 404 telling to run ``atelier insights``.
* Unknown customer (no profile, no event — or another tenant's): 404, as everywhere.
* Known customer with purchases but no row yet (purchases imported after the job, or all after
  its ``as_of``): scored on demand from the stored parameters, stored, answered.
* Known customer without any purchase: 200 with ``status: "no_purchases"``, tier ``standard``,
  lifecycle ``exploration``, null figures, a cross-sell action to win the first purchase and
  ``next_tier`` saying what the first purchases must be to reach MVC (computed from a typical
  first-time buyer under the tenant's models).
* ``horizon_days`` recomputes ``clv`` and ``predicted_purchases`` for that horizon from the row's
  state (same parameters, same as_of); the tier and actions stay those of the configured horizon.

Per-request work stays small: a customer read is one store read; the scorer (parsed models) is
cached per process and per tenant, keyed by the job's ``computed_at`` (each row names the run it came
from), so a new run in another process is picked up by every worker on its next read.

Known limit: a refresh that races a job run (parameters read before the run, row written after)
leaves that one row on the old parameters until the customer's next purchase or the next run;
the row's ``model_computed_at`` shows it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request

from api.deps import CustomersKey, StoreDep
from api.problems import Problem
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.insights import (
    CustomerInsightsPublic,
    ParetoPublic,
    SegmentsPublic,
    ValueModelPublic,
)
from core.records import Event
from insights.scoring import VALUE_EVENT_TYPES, CustomerValueScorer
from store.base import Store

router = APIRouter(tags=["insights"], responses=PROBLEM_RESPONSES)
logger = logging.getLogger(__name__)


def _no_insights(tenant: str) -> Problem:
    return Problem(
        404,
        f"no customer insights computed for tenant '{tenant}' yet: "
        f"run `atelier insights --tenant {tenant}`",
    )


@dataclass(frozen=True, slots=True)
class TenantRun:
    """One job run of a tenant: its ``computed_at`` and its scorer, parsed once per process."""

    computed_at: str
    scorer: CustomerValueScorer


class InsightsEngine:
    """Per-process cache of each tenant's scorer, and the store work around scoring."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, TenantRun] = {}
        self._lock = threading.Lock()

    def run(self, tenant: str, version: str | None = None) -> TenantRun | None:
        """The tenant's current run; ``version`` (a row's run) skips the store when it is cached."""
        cached = self._cache.get(tenant)
        if cached is not None and version is not None and cached.computed_at == version:
            return cached
        summary = self.store.get_insights_summary(tenant)
        if not summary or "state" not in summary:
            self._cache.pop(tenant, None)
            return None
        if cached is not None and cached.computed_at == summary["computed_at"]:
            return cached
        fresh = TenantRun(summary["computed_at"], CustomerValueScorer.from_state(summary["state"]))
        with self._lock:
            self._cache[tenant] = fresh
        return fresh

    # -- refresh -------------------------------------------------------------------------------
    def refresh(
        self, run: TenantRun, tenant: str, newest: dict[str, float]
    ) -> dict[str, dict[str, Any]]:
        """Re-score and store the customers of ``newest`` (id -> time of their newest new event).

        The rule (as of when, which customers in one pass) is the scorer's
        (:meth:`CustomerValueScorer.refresh`); each row names the run whose parameters it used.
        """
        frame = self.store.customers_events_frame(tenant, list(newest), VALUE_EVENT_TYPES)
        if not len(frame):
            return {}
        rows = run.scorer.refresh(frame, newest)
        for row in rows.values():
            row["model_computed_at"] = run.computed_at
        self.store.put_insights_rows(tenant, rows)  # one transaction for the whole batch
        return rows

    def on_events(self, tenant: str, events: list[Event]) -> None:
        """Event listener: re-score the customers whose purchases or returns just arrived.

        The events are already stored and acknowledged: a failure here is logged, never raised,
        and the next purchase or job run brings the rows up to date.
        """
        try:
            self._refresh_events(tenant, events)
        except Exception:
            logger.exception("insights refresh failed for tenant %r", tenant)

    def _refresh_events(self, tenant: str, events: list[Event]) -> None:
        newest: dict[str, float] = {}
        for e in events:
            if e.type in VALUE_EVENT_TYPES:
                newest[e.customer_id] = max(newest.get(e.customer_id, e.timestamp), e.timestamp)
        if not newest:
            return
        run = self.run(tenant)
        if run is not None:
            self.refresh(run, tenant, newest)

    # -- reads ---------------------------------------------------------------------------------
    def row_on_demand(self, tenant: str, customer_id: str) -> dict[str, Any]:
        """The row of a known customer the job did not score (404 when unknown / no run)."""
        if not self.store.customer_known(tenant, customer_id):
            raise Problem(404, f"customer '{customer_id}' not found")
        run = self.run(tenant)
        if run is None:
            raise _no_insights(tenant)
        stamps = [
            e.timestamp
            for e in self.store.customer_events(tenant, customer_id)
            if e.type == "purchase"
        ]
        if stamps:
            row = self.refresh(run, tenant, {customer_id: max(stamps)}).get(customer_id)
            if row is not None:
                return row
        return {
            **run.scorer.no_purchases(customer_id),
            "computed_at": run.computed_at,
            "model_computed_at": run.computed_at,
        }


def _engine(request: Request) -> InsightsEngine:
    engine: InsightsEngine = request.app.state.insights
    return engine


HorizonDays = Annotated[
    float | None,
    Query(
        ge=1,
        le=3650,
        allow_inf_nan=False,
        description="horizon of clv and predicted_purchases in days (default: the tenant's "
        "configured horizon, the one tiers are decided on)",
    ),
]


@router.get(
    "/v1/customers/{customer_id}/insights",
    response_model=CustomerInsightsPublic,
    summary="A customer's value, tier, lifecycle and next best action",
)
async def customer_insights(
    customer_id: Identifier,
    key: CustomersKey,
    store: StoreDep,
    request: Request,
    horizon_days: HorizonDays = None,
) -> CustomerInsightsPublic:
    """The customer's insights from the last job run, refreshed by every purchase since.

    404 when the customer is unknown or when no job ran for the tenant (run `atelier insights`).
    A known customer without purchases gets `status: "no_purchases"`, tier `standard`,
    lifecycle `exploration`, null figures and what the first purchases must be for MVC.
    """
    engine = _engine(request)
    row = store.get_insights_row(key.tenant, customer_id)
    if row is None:
        row = engine.row_on_demand(key.tenant, customer_id)
    row = dict(row)
    row.setdefault("status", "scored")
    row.setdefault("model_computed_at", row.get("computed_at"))
    row["tier_horizon_days"] = row.get("horizon_days")
    if horizon_days is not None and row["status"] == "scored":
        run = engine.run(key.tenant, row["model_computed_at"])
        if run is None:
            raise _no_insights(key.tenant)
        row = run.scorer.at_horizon(row, horizon_days)
    return CustomerInsightsPublic.model_validate(row)


def _summary(store: Store, tenant: str) -> dict[str, Any]:
    summary = store.get_insights_summary(tenant)
    if not summary or "state" not in summary:
        raise _no_insights(tenant)
    return summary


@router.get(
    "/v1/insights/pareto",
    response_model=ParetoPublic,
    summary="Revenue concentration curve and the top 20% customers' share",
)
async def pareto(key: CustomersKey, store: StoreDep) -> ParetoPublic:
    """Customers ranked by net revenue before the last job's as_of (refreshes do not move it)."""
    s = _summary(store, key.tenant)
    return ParetoPublic.model_validate(
        {**s["pareto"], "as_of": s["as_of"], "computed_at": s["computed_at"]}
    )


@router.get(
    "/v1/insights/segments",
    response_model=SegmentsPublic,
    summary="Customers, revenue and CLV by tier and by lifecycle stage",
)
async def segments(key: CustomersKey, store: StoreDep) -> SegmentsPublic:
    """As of the last job run (refreshes of single customers do not move the counts)."""
    s = _summary(store, key.tenant)
    return SegmentsPublic.model_validate(
        {**s["segments"], "as_of": s["as_of"], "computed_at": s["computed_at"]}
    )


@router.get(
    "/v1/insights/model",
    response_model=ValueModelPublic,
    summary="The fitted customer-value models",
)
async def value_model(key: CustomersKey, store: StoreDep) -> ValueModelPublic:
    """Parameters, log-likelihood, number of customers and calibration period of the last run."""
    s = _summary(store, key.tenant)
    return ValueModelPublic.model_validate(
        {
            **s["model"],
            "horizon_days": s["state"]["config"]["horizon_days"],
            "as_of": s["as_of"],
            "computed_at": s["computed_at"],
        }
    )


def install(app: FastAPI) -> None:
    """Keep customers' insights current: re-score them when purchases or returns are stored."""
    engine = InsightsEngine(app.state.store)
    app.state.insights = engine
    app.state.hooks.on_events.append(engine.on_events)
