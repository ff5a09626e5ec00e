"""Customer intelligence: each customer's value, tier and next step; Pareto; segments; the models.

``atelier insights --tenant T [--as-of DATE]`` fits the models and stores a summary (models,
Pareto, segments and the scoring state) and one row per customer. This module serves them and
keeps the rows current between runs: when a ``purchase`` or ``return`` event is stored, the
customers concerned are re-scored at once with the stored parameters fixed (the job's own scoring
function, see :func:`training.value.job.refresh_customer`), as of their newest event.

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

Per-request work stays small: a customer read is one store read; the parsed models are cached
per process and per tenant, keyed by the job's ``computed_at`` (each row names the run it came
from), so a new run in another process is picked up by every worker on its next read.

Known limit: a refresh that races a job run (parameters read before the run, row written after)
leaves that one row on the old parameters until the customer's next purchase or the next run;
the row's ``model_computed_at`` shows it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import numpy as np
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
from store.base import Store
from store.records import Event, EventFrame
from training.value.bgnbd import _BuyTillYouDie

# The batch form of ``refresh_customer``: the job's own summary and scoring functions, so that a
# refresh of many customers (an ingested batch) costs one vectorised pass instead of ~10 ms each.
from training.value.job import _Models, _models_from_state, _score, _summarize
from training.value.rfm import RFMScorer
from training.value.summary import DAY, observation_end_day
from training.value.tiers import ValueTiers

router = APIRouter(tags=["insights"], responses=PROBLEM_RESPONSES)
logger = logging.getLogger(__name__)

VALUE_EVENT_TYPES = ("purchase", "return")
#: A refresh is made as of the newest new event plus this moment (the event itself is included).
REFRESH_MOMENT_S = 1.0


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _no_insights(tenant: str) -> Problem:
    return Problem(
        404,
        f"no customer insights computed for tenant '{tenant}' yet: "
        f"run `atelier insights --tenant {tenant}`",
    )


@dataclass(slots=True)
class TenantModels:
    """One job run's fitted state, parsed once per process."""

    computed_at: str
    as_of: float
    models: _Models
    tiers: ValueTiers
    rfm: RFMScorer
    first_purchase: dict[str, Any] | None = field(default=None)

    @property
    def tm(self) -> _BuyTillYouDie:
        return self.models.tm


class InsightsEngine:
    """Per-process cache of each tenant's models, the refresh on events, and on-demand scoring."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, TenantModels] = {}
        self._lock = threading.Lock()

    def models(self, tenant: str, version: str | None = None) -> TenantModels | None:
        """The tenant's models; ``version`` (a row's run) skips the store when it is cached."""
        cached = self._cache.get(tenant)
        if cached is not None and version is not None and cached.computed_at == version:
            return cached
        summary = self.store.get_insights_summary(tenant)
        if not summary or "state" not in summary:
            self._cache.pop(tenant, None)
            return None
        if cached is not None and cached.computed_at == summary["computed_at"]:
            return cached
        models, tiers, rfm = _models_from_state(summary["state"])
        fresh = TenantModels(summary["computed_at"], _ts(summary["as_of"]), models, tiers, rfm)
        with self._lock:
            self._cache[tenant] = fresh
        return fresh

    # -- refresh -------------------------------------------------------------------------------
    def score(
        self, model: TenantModels, tenant: str, newest: dict[str, float]
    ) -> dict[str, dict[str, Any]]:
        """Rows of the customers in ``newest`` (id -> time of their newest new event), stored.

        Each customer is scored as of max(the run's as_of, newest event + a moment); customers
        sharing an observation day are scored together in one vectorised pass.
        """
        groups: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for cid, ts in newest.items():
            as_of = max(model.as_of, ts + REFRESH_MOMENT_S)
            groups[observation_end_day(as_of)].append((cid, as_of))
        out: dict[str, dict[str, Any]] = {}
        for members in groups.values():
            events: list[Event] = []
            for cid, _ in members:
                events.extend(
                    e
                    for e in self.store.customer_events(tenant, cid)
                    if e.type in VALUE_EVENT_TYPES
                )
            if not events:
                continue
            as_of = max(a for _, a in members)
            s = _summarize(EventFrame.from_events(events), as_of, model.models.cfg)
            if len(s) == 0:
                continue
            rows, _ = _score(
                s, model.models, model.tiers, model.rfm, np.zeros(len(s)), None, time.time()
            )
            for row in rows:
                row["model_computed_at"] = model.computed_at
                self.store.put_insights_row(tenant, row["customer_id"], row)
                out[row["customer_id"]] = row
        return out

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
                newest[e.customer_id] = max(newest.get(e.customer_id, -np.inf), e.timestamp)
        if not newest:
            return
        model = self.models(tenant)
        if model is not None:
            self.score(model, tenant, newest)

    # -- reads ---------------------------------------------------------------------------------
    def row_on_demand(self, tenant: str, customer_id: str) -> dict[str, Any]:
        """The row of a known customer the job did not score (404 when unknown / no run)."""
        if not self.store.customer_known(tenant, customer_id):
            raise Problem(404, f"customer '{customer_id}' not found")
        model = self.models(tenant)
        if model is None:
            raise _no_insights(tenant)
        stamps = [
            e.timestamp
            for e in self.store.customer_events(tenant, customer_id)
            if e.type == "purchase"
        ]
        if stamps:
            row = self.score(model, tenant, {customer_id: max(stamps)}).get(customer_id)
            if row is not None:
                return row
        return self.no_purchase_row(model, customer_id)

    def no_purchase_row(self, model: TenantModels, customer_id: str) -> dict[str, Any]:
        """Cold start: tier standard, exploring, and what the first purchases must be for MVC."""
        return {
            "customer_id": customer_id,
            "status": "no_purchases",
            "tier": "standard",
            "clv": None,
            "predicted_purchases": None,
            "expected_spend": None,
            "net_value": None,
            "p_alive": None,
            "churn_risk": None,
            "lifecycle_stage": "exploration",
            "rfm": {"r": None, "f": None, "m": None},
            "next_best_action": {
                "action": "cross_sell",
                "reason": "no purchase yet: win a first purchase with relevant offers",
                "priority": 0.0,
            },
            "next_tier": self._first_purchase_next_tier(model),
            "horizon_days": None,
            "history": None,
            "as_of": None,
            "computed_at": model.computed_at,
            "model_computed_at": model.computed_at,
        }

    def _first_purchase_next_tier(self, model: TenantModels) -> dict[str, Any]:
        """What MVC takes from no purchase: scored once per run on a typical first-time buyer."""
        if model.first_purchase is not None:
            return model.first_purchase
        value = model.models.fallback_spend
        frame = EventFrame.from_events(
            [Event("typical", "typical", "purchase", model.as_of - REFRESH_MOMENT_S, value=value)]
        )
        s = _summarize(frame, model.as_of, model.models.cfg)
        (row,), _ = _score(s, model.models, model.tiers, model.rfm, np.zeros(1), None, 0.0)
        typical = f"a first purchase (a typical one is worth {value:.2f})"
        nxt = row["next_tier"]
        if row["tier"] == "MVC":
            answer = {"tier": "MVC", "requirement": typical, "purchases": 1}
        elif nxt is not None and nxt["tier"] == "MVC":
            answer = {
                "tier": "MVC",
                "requirement": f"{typical}, then {nxt['requirement']}",
                "purchases": None if nxt["purchases"] is None else nxt["purchases"] + 1,
                "spend": None,
                "within_days": nxt["within_days"],
            }
        else:
            answer = {
                "tier": "MVC",
                "requirement": f"{typical}; a typical first-time buyer is {row['tier']}, and "
                "what MVC then takes follows from that first purchase",
            }
        model.first_purchase = answer
        return answer


def at_horizon(
    model: TenantModels, row: dict[str, Any], horizon_days: float
) -> tuple[float, float]:
    """(CLV, predicted purchases) of a stored row over another horizon, parameters fixed.

    The row's state (purchase days, first and last purchase day, as_of) gives x, t_x and T in the
    model's time unit exactly as the job computed them.
    """
    cfg = model.models.cfg
    unit = cfg.time_unit_days
    hist = row["history"]
    first = _ts(hist["first_purchase"]) / DAY
    last = _ts(hist["last_purchase"]) / DAY
    end = observation_end_day(_ts(row["as_of"]))
    x = np.array([float(hist["purchases"] - 1)])
    tx = np.array([(last - first) / unit])
    T = np.array([(end - first) / unit])
    horizon = cfg.units(horizon_days)
    predicted = model.tm.expected_purchases(horizon, x, tx, T)
    clv = model.tm.clv(
        x,
        tx,
        T,
        np.array([float(row["expected_spend"])]),
        horizon=horizon,
        discount_rate=cfg.discount_rate,
        margin=cfg.margin,
        step=cfg.units(cfg.clv_step_days),
        time_unit_days=unit,
    )
    return float(clv[0]), float(predicted[0])


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
        model = engine.models(key.tenant, row["model_computed_at"])
        if model is None:
            raise _no_insights(key.tenant)
        row["clv"], row["predicted_purchases"] = at_horizon(model, row, horizon_days)
        row["horizon_days"] = horizon_days
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
