"""The lean dispatch of hot routes: which endpoints qualify, and that it only takes their GETs."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.testclient import TestClient

from api.hot_routes import HotRoutes, hot_route, hot_routes_of
from api.problems import Problem, from_domain, install
from core.errors import Conflict, DomainError, NotFound, Unavailable


def test_only_plain_async_request_endpoints_can_be_hot() -> None:
    async def two(request: Request, n: int) -> Response:
        return Response()

    def sync(request: Request) -> Response:
        return Response()

    for endpoint in (two, sync):
        with pytest.raises(TypeError, match="hot route"):
            hot_route(endpoint)  # type: ignore[type-var]


def test_hot_routes_serve_gets_and_leave_the_rest_to_the_app() -> None:
    router = APIRouter()
    calls: list[str] = []

    @router.get("/things/{thing_id}")
    @hot_route
    async def read(request: Request) -> Response:
        calls.append("hot")
        thing = request.path_params["thing_id"]
        if thing == "missing":
            raise Problem(404, "no such thing")
        return Response(thing.encode(), media_type="text/plain")

    @router.put("/things/{thing_id}")
    async def write(thing_id: str) -> dict[str, str]:
        calls.append("router")
        return {"written": thing_id}

    app = FastAPI()
    install(app)
    app.include_router(router)
    routes = hot_routes_of(router.routes)
    assert [r.path for r in routes] == ["/things/{thing_id}"]
    app.add_middleware(HotRoutes, routes=routes)
    client = TestClient(app)
    assert client.get("/things/a%20b").text == "a b"  # the route's own pattern and converters
    r = client.get("/things/missing")
    assert r.status_code == 404 and r.json()["detail"] == "no such thing"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert client.put("/things/x").json() == {"written": "x"}
    assert client.get("/things/a/b").status_code == 404  # no match: the app's own 404
    assert calls == ["hot", "hot", "router"]


@pytest.mark.parametrize(
    "error",
    [NotFound("no such thing"), Conflict("in the way"), Unavailable("store down", 2.5)],
    ids=["not-found", "conflict", "unavailable"],
)
def test_domain_errors_map_as_everywhere_else(error: DomainError) -> None:
    """A domain error raised in a hot route is the problem document the app's own handler
    makes of it (``api.problems.from_domain``), byte for byte, headers included."""
    router = APIRouter()

    @router.get("/things/{thing_id}")
    @hot_route
    async def read(request: Request) -> Response:
        raise error

    answers = []
    for hot in (True, False):
        app = FastAPI()
        install(app)
        app.include_router(router)
        if hot:
            app.add_middleware(HotRoutes, routes=hot_routes_of(router.routes))
        answers.append(TestClient(app, raise_server_exceptions=False).get("/things/x"))
    via_hot, via_router = answers
    assert via_hot.status_code == via_router.status_code == from_domain(error).status
    assert via_hot.content == via_router.content
    assert via_hot.headers.get("retry-after") == via_router.headers.get("retry-after")
    assert via_hot.headers["content-type"] == via_router.headers["content-type"]
    assert via_hot.headers["content-type"].startswith("application/problem+json")
