"""``/console``: the web console's page and files (see the ``console`` package)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from api.problems import Problem
from api.routing import StrictJSONRoute
from console import CONTENT_SECURITY_POLICY, assets

router = APIRouter(tags=["console"], route_class=StrictJSONRoute)

_FILES = assets()
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _file(name: str) -> Response:
    found = _FILES.get(name)
    if found is None:
        raise Problem(404, f"the console has no file '{name}'")
    body, media = found
    return Response(body, media_type=media, headers=_HEADERS)


@router.get(
    "/console",  # API.md names the page; its files stay out of the document
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def console_page() -> Response:
    """The console's single page."""
    return _file("index.html")


@router.get("/console/", include_in_schema=False)
async def console_slash() -> Response:
    return RedirectResponse("/console", status_code=308)


@router.get("/console/{name}", include_in_schema=False)
async def console_file(name: str) -> Response:
    """A script, style or icon of the console."""
    return _file(name)
