"""The documentation pages in a real headless Chromium, on a server with no way out: Swagger UI
lists the operations, its Authorize button sends the key, ReDoc renders, and no request leaves
localhost.

Debian's ``chromium`` (``apt-get install chromium``; ``.ci/run`` installs it) driven by
Playwright through ``executable_path`` (Playwright downloads no browser). Skipped only when
either is missing. ``ATELIER_DOCS_SCREENSHOT=path.png`` keeps a screenshot of ``/docs``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

ATELIER = Path(sys.executable).with_name("atelier")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real ``atelier serve`` on a free port and an admin key of its tenant."""
    data = tmp_path_factory.mktemp("docs")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATELIER_")}
    env.update(ATELIER_DATA_DIR=str(data), ATELIER_PORT=str(port), ATELIER_STORE="embedded")
    made = subprocess.run(
        [str(ATELIER), "keys", "create", "--tenant", "docs", "--scopes", "admin"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = made.stdout.split()[-1]
    proc = subprocess.Popen(
        [str(ATELIER), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.time() < deadline, "the server did not start"
            time.sleep(0.2)
        yield base, key
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


def _page(browser: object, seen: list[str]) -> object:
    """A page that records every request and refuses any that would leave localhost."""
    page = browser.new_page()  # type: ignore[attr-defined]

    def route(r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        seen.append(url)
        host = urlsplit(url).hostname
        if url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()  # type: ignore[attr-defined]
        else:
            r.abort()  # type: ignore[attr-defined]

    page.route("**/*", route)
    return page


def _outside(seen: list[str]) -> list[str]:
    return [u for u in seen if not u.startswith(("data:", "blob:", "http://127.0.0.1"))]


def test_swagger_ui_lists_the_operations_and_authorizes(
    server: tuple[str, str], browser: object
) -> None:
    base, key = server
    operations = sum(len(ops) for ops in httpx.get(f"{base}/openapi.json").json()["paths"].values())
    seen: list[str] = []
    page = _page(browser, seen)
    answer = page.goto(f"{base}/docs")  # type: ignore[attr-defined]
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    page.wait_for_selector(".opblock", timeout=30_000)  # type: ignore[attr-defined]
    assert page.locator(".opblock").count() == operations  # type: ignore[attr-defined]
    if os.environ.get("ATELIER_DOCS_SCREENSHOT"):
        page.screenshot(path=os.environ["ATELIER_DOCS_SCREENSHOT"], full_page=False)  # type: ignore[attr-defined]
    # Authorize with the bearer key, then try GET /v1/keys: the key goes with the request.
    page.click("button.authorize")  # type: ignore[attr-defined]
    page.fill(".auth-container input", key)  # type: ignore[attr-defined]
    page.click(".auth-btn-wrapper button.authorize")  # type: ignore[attr-defined]
    page.click("button.btn-done")  # type: ignore[attr-defined]
    block = page.locator(".opblock-get", has=page.locator('[data-path="/v1/keys"]'))  # type: ignore[attr-defined]
    block.locator(".opblock-summary").click()
    block.locator("button.try-out__btn").click()
    with page.expect_response(lambda r: urlsplit(r.url).path == "/v1/keys") as sent:  # type: ignore[attr-defined]
        block.locator("button.execute").click()
    assert sent.value.status == 200
    assert sent.value.request.headers["authorization"] == f"Bearer {key}"
    assert not _outside(seen), _outside(seen)


def test_redoc_renders_offline(server: tuple[str, str], browser: object) -> None:
    base, _ = server
    seen: list[str] = []
    page = _page(browser, seen)
    page.goto(f"{base}/redoc")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-section-id^='tag/']", timeout=30_000)  # type: ignore[attr-defined]
    assert page.get_by_text("/v1/keys").count() >= 1  # type: ignore[attr-defined]
    assert any(u.endswith("/docs/assets/redoc.standalone.js") for u in seen)
    assert not _outside(seen), _outside(seen)
