"""The FastAPI application: ``create_app()`` wires settings, store, middleware and routers."""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from access.keys import KeyCache, KeyService
from api import docs, methods, openapi, problems
from api.hot_routes import HotRoutes, hot_routes_of
from api.middleware import BodyLimitMiddleware, MetricsMiddleware, RequestLogMiddleware
from api.routers import (
    account_managers,
    configurator,
    console,
    customers,
    dialogue,
    events,
    experiments,
    health,
    insights,
    items,
    keys,
    models,
    recommendations,
    session,
    tiers,
)
from configurator.secret import CodeKey
from configurator.service import ConfiguratorService, CustomerTerms
from core.logs import configure_logging
from customers import CustomerService
from dialogue import DialogueService
from dialogue.facts import open_complaints
from dialogue.managers import AccountManagers
from events.ingest import Listeners
from insights.service import InsightsService
from recommender.experiments import ExperimentService
from recommender.reports import ReportService
from recommender.service import RecommendationService
from recommender.versions import ModelVersions
from settings import Settings, get_settings
from store import Store, open_configured_store

logger = logging.getLogger(__name__)

#: Router modules, in the order their routes are matched.
ROUTERS = (
    health,
    recommendations,
    items,
    customers,
    account_managers,
    dialogue,
    insights,
    tiers,
    events,
    models,
    experiments,
    keys,
    configurator,
    session,
    console,
)


def _without_native_telemetry() -> dict[str, Any]:
    """Turn off FastAPI's OpenTelemetry hooks where this FastAPI has them: metrics are
    Prometheus's job here, and the hooks ask OpenTelemetry for its providers on every request."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def _warm_configurator(app: FastAPI) -> None:
    """Compile the reference families once the models are loaded (readiness comes first); if
    that fails, the first configurator request compiles them instead."""
    try:
        if app.state.recommender.wait_started():
            app.state.configurator.warm()
    except Exception:
        logger.exception("warming the configurator failed; the first request compiles it")


def create_app(
    settings: Settings | None = None, store: Store | None = None, *, hot_routes: bool = True
) -> FastAPI:
    """Build the app; tests pass their own settings and store, the server reads the environment.

    ``hot_routes=False`` serves every route through FastAPI's router (see ``api/hot_routes.py``;
    the tests compare both).
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    store = store or open_configured_store(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Start-up work: load every active model and precompute answers before /readyz says
        # ready. Stopped and waited for before the store closes.
        app.state.recommender.start()
        warming = threading.Thread(target=_warm_configurator, args=(app,), daemon=True)
        warming.start()
        try:
            yield
        finally:
            app.state.recommender.close()
            # The warm-up reads the store: it finishes (or gives up) before the store closes.
            warming.join(timeout=10.0)
            app.state.store.close()

    app = FastAPI(
        **_without_native_telemetry(),
        title="Atelier",
        version="1.0.0",
        summary="One-to-one marketing engine: identify, differentiate, interact, customize.",
        description=(
            "Cross-sell recommendations, customer value intelligence and a made-to-measure "
            "configurator, per tenant. Authenticate with `Authorization: Bearer <api-key>`; "
            "errors are RFC 9457 `application/problem+json`."
        ),
        lifespan=lifespan,
        docs_url=None,  # served by api.docs from the installed assets (no CDN)
        redoc_url=None,
    )
    app.openapi = lambda: openapi.document(app)  # type: ignore[method-assign]
    app.state.settings = settings
    app.state.store = store
    app.state.key_cache = KeyCache(settings.auth_cache_ttl_s)
    app.state.keys = KeyService(store, app.state.key_cache)
    _services(app, settings, store)

    problems.install(app)
    methods.install(app)
    docs.install(app)
    for module in ROUTERS:
        app.include_router(module.router)
    # The last added middleware is the outermost: the access log and metrics see every request, hot routes
    # (innermost) only what the body limit let through.
    if hot_routes:  # routers are included without a prefix: their paths are the app's
        routes = hot_routes_of([r for module in ROUTERS for r in module.router.routes])
        app.add_middleware(HotRoutes, routes=routes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestLogMiddleware)
    return app


def _after_merge(
    store: Store, recommender: RecommendationService, insights: InsightsService
) -> Callable[[str, str, list[str]], None]:
    """What follows a merge: every id's serving state is dropped (the store already gave each a
    new serving version, so cached answers of every worker miss), and the customer re-scored."""

    def done(tenant: str, into: str, sources: list[str]) -> None:
        for cid in (into, *sources):
            recommender.forget_customer(tenant, cid)
        insights.on_events(tenant, store.customer_events(tenant, into))

    return done


def _services(app: FastAPI, settings: Settings, store: Store) -> None:
    """Build the domain services once per app and connect who listens to which writes."""
    listeners = Listeners()
    recommender = RecommendationService(
        store,
        settings.models_dir,
        settings.model_poll_s,
        cache_customers=settings.reco_cache_customers,
    )
    insights = InsightsService(store)

    def offer(tenant: str, customer_id: str) -> list[str]:
        return [item.item_id for item in recommender.recommend(tenant, customer_id, 3).items]

    insights.offer = offer  # cross-sell and upgrade actions name what to offer
    # An open complaint makes recover the next best action (the dialogue's records).
    insights.complaints = lambda tenant, cid: open_complaints(store.list_cases(tenant, cid))
    insights.complaints_of = lambda tenant, ids: {
        cid: found
        for cid, cases in store.cases_of(tenant, ids).items()
        if (found := open_complaints(cases))
    }
    listeners.on_events.append(insights.on_events)
    listeners.on_erasure.append(recommender.forget_customer)
    app.state.listeners = listeners
    app.state.recommender = recommender
    app.state.model_versions = ModelVersions(store, settings.models_dir)
    app.state.experiments = ExperimentService(store, recommender.registry)
    app.state.reports = ReportService(store)
    app.state.insights = insights
    app.state.customers = customers = CustomerService(store, listeners)
    customers.on_merge.append(_after_merge(store, recommender, insights))
    app.state.dialogue = dialogue = DialogueService(store)
    app.state.account_managers = AccountManagers(
        store, dialogue, insights.manager_worklist, insights.with_items
    )
    # The codes' key: the setting, else the store's own secret, asked for on first use (a
    # service started while the store is down still starts).
    code_key = CodeKey(store, settings.configurator_secret.get_secret_value().encode())
    app.state.configurator = ConfiguratorService(store, code_key, on_events=listeners.events_stored)

    def terms(tenant: str, customer_id: str) -> CustomerTerms:
        e = insights.perk_effects(tenant, customer_id)
        return CustomerTerms(e["discount"], e["lead_time_days_saved"], tuple(e["applied"]))

    app.state.configurator.terms = terms  # tier perks: a discount and priority lead time
