"""The interactive documentation, served whole from the installed packages: Swagger UI at
``/docs`` and ReDoc at ``/redoc`` work on a machine without internet (air-gapped sites).

Their scripts and styles come from the ``fastapi-offline`` distribution (MIT; the upstream
Swagger UI and ReDoc bundles) and are served under ``/docs/assets``; each page carries a
Content-Security-Policy that allows nothing from another origin, so a page that tried to fetch
from a CDN would fail visibly instead of hanging. The Authorize button comes from the bearer
security scheme of the document (:mod:`api.openapi`).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs/assets"

#: Same origin only; inline scripts (each page's start-up call), ``data:`` images and the
#: ``blob:`` web workers ReDoc starts are the page's own.
CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)


def assets_dir() -> Path:
    """The folder of the bundled Swagger UI and ReDoc files."""
    return Path(str(files("fastapi_offline") / "static"))


def _secured(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page


def install(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets (the app is built with both URLs off)."""
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")
    title = f"{app.title} {app.version}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return _secured(
            get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{title} - Swagger UI",
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS}/favicon.png",
                # no online validator badge (it would call validator.swagger.io)
                swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
            )
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return _secured(
            get_redoc_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{title} - ReDoc",
                redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )
