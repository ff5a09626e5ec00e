"""``OPTIONS`` and 405 answers name every method a path has (``Allow``).

Starlette keeps one route per method, so a method a path lacks answers 405 with the ``Allow`` of
the first route that matched the path alone (one method where the path has three), and
``OPTIONS`` is one of those. Here a 405 carries the methods of every route of the path, and
``OPTIONS`` answers 204 with them (RFC 9110, 9.3.7).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from api.problems import problem_response


def _flat(routes: Sequence[Any]) -> Iterator[Any]:
    """The app's routes, those of included routers too (FastAPI keeps one entry per router)."""
    for route in routes:
        if hasattr(route, "original_router"):
            yield from _flat(route.original_router.routes)
        else:
            yield route


def allowed_methods(app: FastAPI, scope: dict[str, Any]) -> list[str]:
    """Every method of the routes whose path matches the request's, and ``OPTIONS``."""
    methods: set[str] = {"OPTIONS"}
    for route in _flat(app.router.routes):
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install(app: FastAPI) -> None:
    """Register the 405 handler (it also answers ``OPTIONS``)."""

    @app.exception_handler(405)
    async def _not_allowed(request: Request, exc: StarletteHTTPException) -> Response:
        allow = ", ".join(allowed_methods(app, dict(request.scope)))
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        return problem_response(
            405, f"{request.method} is not a method of this path", headers={"Allow": allow}
        )
