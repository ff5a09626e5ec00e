"""A lean dispatch for the hottest read routes: their endpoint, without FastAPI's per-request work.

For every request FastAPI's router matches the routes in order, then runs the endpoint through
its request/response machinery (dependency resolution, exception middleware, scope
bookkeeping). On ``GET /v1/customers/{id}/recommendations`` that machinery cost more than the
recommendation itself (measured in ``load/bench_reco_serving.py``). An endpoint marked
:func:`hot_route` validates its own input and returns a finished ``Response``, so it needs none
of it: :class:`HotRoutes` matches the route's own path pattern and awaits the endpoint directly.

What stays the same for a hot route: the path pattern and its converters (the route's own), the
OpenAPI document (the route is still registered with FastAPI), the metrics label (the route is
put in the scope as the router does), and the errors: a :class:`~api.problems.Problem` becomes
the same problem document as everywhere, and so does a domain error (``core.errors.DomainError``,
mapped by :func:`api.problems.from_domain` as the app's handler maps it); anything unexpected
goes up to the app's 500 handler.
The FastAPI route stays as the fallback (``HEAD``, or an app built with ``hot_routes=False``;
the API tests run both ways).

Examples
--------
>>> @router.get("/v1/things/{thing_id}", response_model=ThingPublic)  # doctest: +SKIP
... @hot_route
... async def read_thing(request: Request) -> Response: ...
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import Problem, from_domain, problem_from
from core.errors import DomainError

Endpoint = TypeVar("Endpoint", bound=Callable[[Request], Awaitable[Response]])

_HOT = "__atelier_hot_route__"


def hot_route(endpoint: Endpoint) -> Endpoint:
    """Mark an endpoint to be served by :class:`HotRoutes`.

    It must be ``async def endpoint(request: Request) -> Response``: no FastAPI parameters or
    dependencies (nothing would resolve them), its own validation and a finished response.
    """
    params = list(inspect.signature(endpoint).parameters.values())
    is_async = inspect.iscoroutinefunction(endpoint)  # (a variable: no type narrowing)
    if not is_async or len(params) != 1:
        raise TypeError(f"{endpoint.__name__}: a hot route is `async def f(request: Request)`")
    setattr(endpoint, _HOT, True)
    return endpoint


def hot_routes_of(routes: Sequence[Any]) -> list[APIRoute]:
    """The routes whose endpoint is marked :func:`hot_route`, in the given order (routes of
    routers included without a prefix, so that their paths are the app's)."""
    return [r for r in routes if isinstance(r, APIRoute) and getattr(r.endpoint, _HOT, False)]


class HotRoutes:
    """ASGI middleware that serves ``GET`` requests of hot routes (see the module docstring);
    every other request goes on to the app."""

    def __init__(self, app: ASGIApp, routes: Sequence[APIRoute]) -> None:
        self.app = app
        self.routes = list(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and self.routes:
            path = get_route_path(scope)
            for route in self.routes:
                match = route.path_regex.match(path)
                if match is None:
                    continue
                convert = route.param_convertors
                scope["path_params"] = {
                    k: convert[k].convert(v) for k, v in match.groupdict().items()
                }
                scope["route"] = route
                scope["endpoint"] = route.endpoint
                try:
                    response = await route.endpoint(Request(scope, receive, send))
                except Problem as exc:
                    response = problem_from(exc)
                except DomainError as exc:  # as the app's handler maps it (api/problems.py)
                    response = problem_from(from_domain(exc))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
