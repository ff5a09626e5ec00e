"""The served OpenAPI document: FastAPI's, plus the bearer-key security scheme with the scope
each operation needs (so ``/docs`` has an Authorize button and generated clients send the key).

An operation's scope is read from its dependencies (``api.deps.require_scope`` names them
``require_<scope>``); a hot route, which has none, declares its ``security`` itself through
``openapi_extra``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

SCHEME = "bearerKey"


def _calls(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield getattr(sub.call, "__name__", "")
        yield from _calls(sub)


def api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    """Every ``APIRoute`` of the app, those of included routers too (FastAPI keeps an included
    router as one entry; the routers here are included without a prefix, so a route's path is
    the app's)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def route_scope(route: APIRoute) -> str | None:
    """The scope the route's key needs: ``""`` for any valid key, None for no key at all."""
    names = list(_calls(route.dependant))
    scopes = [n.removeprefix("require_") for n in names if n.startswith("require_")]
    if scopes:
        return scopes[0]
    return "" if "authenticate" in names else None


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once, then kept as FastAPI does)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    doc.setdefault("components", {})["securitySchemes"] = {
        SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <api-key>`; a key belongs to one tenant and "
            "holds scopes (events, catalog, customers, recommend, configure, admin). The scope "
            "an operation needs is listed in its security requirement.",
        }
    }
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        scope = route_scope(route)
        for method in route.methods or ():
            operation = doc["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None or "security" in operation or scope is None:
                continue
            operation["security"] = [{SCHEME: [scope] if scope else []}]
    app.openapi_schema = doc
    return doc
