"""The FastAPI application: ``create_app()`` wires settings, store, middleware and routers."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from access.keys import KeyCache
from api import problems
from api.hooks import Hooks
from api.hot_routes import HotRoutes, hot_routes_of
from api.middleware import BodyLimitMiddleware, MetricsMiddleware
from api.routers import (
    account_managers,
    configurator,
    customers,
    events,
    health,
    insights,
    items,
    models,
    recommendations,
)
from settings import Settings, get_settings
from store import Store, open_configured_store

#: Router modules in the order their routes are matched; a module may also define
#: ``install(app)`` to register hooks (event listeners, erasure, readiness) and state.
FEATURES = (
    health,
    recommendations,
    items,
    customers,
    account_managers,
    insights,
    events,
    models,
    configurator,
)


def _without_native_telemetry() -> dict[str, Any]:
    """Turn off FastAPI's OpenTelemetry hooks where this FastAPI has them: metrics are
    Prometheus's job here, and the hooks ask OpenTelemetry for its providers on every request."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    return {}


def create_app(
    settings: Settings | None = None, store: Store | None = None, *, hot_routes: bool = True
) -> FastAPI:
    """Build the app; tests pass their own settings and store, the server reads the environment.

    ``hot_routes=False`` serves every route through FastAPI's router (see ``api/hot_routes.py``;
    the tests compare both).
    """
    settings = settings or get_settings()
    store = store or open_configured_store(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.hooks.shutdown()
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
    )
    app.state.settings = settings
    app.state.store = store
    app.state.key_cache = KeyCache(settings.auth_cache_ttl_s)
    app.state.hooks = Hooks()

    problems.install(app)
    for module in FEATURES:
        app.include_router(module.router)
        install = getattr(module, "install", None)
        if install is not None:
            install(app)
    # The last added middleware is the outermost: metrics see every request, hot routes
    # (innermost) only what the body limit let through.
    if hot_routes:  # routers are included without a prefix: their paths are the app's
        routes = hot_routes_of([r for module in FEATURES for r in module.router.routes])
        app.add_middleware(HotRoutes, routes=routes)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    return app
