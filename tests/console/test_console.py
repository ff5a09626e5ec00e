"""The console at ``/console`` in a real browser (Debian's Chromium driven by Playwright) against a
live server process on a small demo tenant.

Chromium comes from ``apt-get install chromium`` (``.ci/run`` installs it); without it these tests
skip, unless ``ATELIER_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes a missing browser a failure.
Screenshots of every view go to ``ATELIER_TEST_OUTPUT`` (default ``.test-output``)/console.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from console import assets
from tests.faults.processes import Server

CHROMIUM = Path("/usr/bin/chromium")
ATELIER = Path(sys.executable).with_name("atelier")
OUTPUT = Path(os.environ.get("ATELIER_TEST_OUTPUT", ".test-output")) / "console"
VIEWS = ("worklist", "portfolio", "configurator", "configurator/original-spin", "models")
HTML_ATTRIBUTE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    if os.environ.get("ATELIER_REQUIRE_BROWSER") == "1":
        raise RuntimeError("ATELIER_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")
    pytest.skip(
        "Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")


@dataclass
class LiveConsole:
    base: str
    admin_key: str
    customers_key: str
    env: dict[str, str]
    timings: dict[str, int] = field(default_factory=dict)

    def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.admin_key}"}
        return httpx.request(method, self.base + path, json=body, headers=headers, timeout=30)


def _run(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(ATELIER), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _key(env: dict[str, str], scopes: str) -> str:
    out = _run(env, "keys", "create", "--tenant", "demo", "--scopes", scopes)
    return next(word for word in out.split() if word.startswith("atl_"))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    server = Server(tmp_path_factory.mktemp("console"))
    _run(server.env, "demo", "load", "--customers", "300")
    admin = _key(server.env, "admin,customers,recommend,configure,catalog,events")
    customers = _key(server.env, "customers")
    server.start(ready=True)
    console = LiveConsole(server.url, admin, customers, server.env)
    try:
        yield console
    finally:
        server.stop()
        OUTPUT.mkdir(parents=True, exist_ok=True)
        (OUTPUT / "timings.json").write_text(json.dumps(console.timings, indent=1))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@dataclass
class Tab:
    page: Any
    errors: list[str]
    outside: list[str]
    requests: list[Any]
    failed: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser: Any, live: LiveConsole) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    tab = Tab(page, [], [], [])

    def route(r: Any) -> None:
        if r.request.url.startswith(live.base):
            r.continue_()
        else:  # nothing may leave localhost: record it and refuse it
            tab.outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type in ("error", "warning") and tab.errors.append(m.text))
    page.on("pageerror", lambda e: tab.errors.append(str(e)))
    page.on("request", lambda r: tab.requests.append(r))
    page.on("response", lambda r: r.status >= 400 and tab.failed.append(f"{r.status} {r.url}"))
    yield tab
    context.close()


def _wait_view(page: Any, name: str, timeout: float = 15) -> None:
    """Until the console says it rendered ``name`` (polled: the page's CSP forbids eval)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate("document.body.dataset.view") == name:
            return
        time.sleep(0.05)
    raise AssertionError(
        f"view {name!r} did not render; body says {page.evaluate('document.body.dataset.view')!r}"
    )


def _sign_in(tab: Tab, live: LiveConsole, key: str) -> None:
    tab.page.goto(f"{live.base}/console")
    _wait_view(tab.page, "sign-in")
    tab.page.get_by_label("API key").fill(key)
    tab.page.get_by_role("button", name="Sign in").click()


def _open(tab: Tab, live: LiveConsole, view: str) -> int:
    tab.page.evaluate(f"location.hash = {json.dumps('#/' + view)}")
    _wait_view(tab.page, view.split("/")[0])
    return int(tab.page.evaluate("document.body.dataset.renderMs"))


def _axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": ["wcag2a", "wcag2aa"]})
    return [
        f"{v['id']} ({v['impact']}): {len(v['nodes'])} nodes"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_view_loads_offline_without_errors_and_passes_axe(
    tab: Tab, live: LiveConsole
) -> None:
    _sign_in(tab, live, live.admin_key)
    _wait_view(tab.page, "worklist")
    tab.page.evaluate("sessionStorage.setItem('atelier.manager', 'am-1')")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    customer = live.api("GET", "/v1/account-managers/am-1/customers").json()["customers"][0]
    for view in (*VIEWS, f"customer/{customer['customer_id']}"):
        live.timings[view] = _open(tab, live, view)
        tab.page.screenshot(path=str(OUTPUT / f"{view.replace('/', '_')}.png"), full_page=True)
        assert _axe_violations(tab.page) == [], view
    assert tab.errors == [] and tab.outside == [], tab.failed
    api_requests = [r for r in tab.requests if "/v1/" in r.url]
    assert api_requests and all(r.headers.get("x-request-id") for r in api_requests)
    assert not any(live.admin_key in r.url for r in tab.requests)  # the key never goes in a URL


def test_the_page_weighs_under_500_kb_and_loads_nothing_from_outside() -> None:
    files = assets()
    assert sum(len(body) for body, _ in files.values()) < 500_000
    for name, (body, _) in files.items():
        text = body.decode()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), name
        assert "https://" not in text, name


def test_a_bad_key_is_told_plainly_and_scopes_decide_the_views(tab: Tab, live: LiveConsole) -> None:
    _sign_in(tab, live, "atl_nothing_here")
    _wait_view(tab.page, "sign-in")
    assert "unknown or revoked" in tab.page.get_by_role("alert").inner_text()
    _sign_in(tab, live, live.customers_key)
    _wait_view(tab.page, "worklist")
    nav = tab.page.get_by_role("navigation", name="Views").inner_text()
    assert "Worklist" in nav and "Portfolio" in nav
    assert "Models" not in nav and "Configurator" not in nav
    assert tab.page.evaluate("sessionStorage.getItem('atelier.key')") == live.customers_key
    assert tab.page.evaluate("localStorage.length") == 0


def test_an_attribute_holding_html_is_shown_as_text(tab: Tab, live: LiveConsole) -> None:
    put = live.api("PUT", "/v1/customers/html-person", {"attributes": {"note": HTML_ATTRIBUTE}})
    assert put.status_code in (200, 201)
    _sign_in(tab, live, live.admin_key)
    _wait_view(tab.page, "worklist")
    _open(tab, live, "customer/html-person")
    assert HTML_ATTRIBUTE in tab.page.get_by_role("region", name="Profile").inner_text()
    assert tab.page.evaluate("window.__pwned === undefined")
    assert tab.page.locator("main script, main img").count() == 0


def test_a_configuration_is_completed_saved_and_reordered(tab: Tab, live: LiveConsole) -> None:
    _sign_in(tab, live, live.admin_key)
    _wait_view(tab.page, "worklist")
    _open(tab, live, "configurator/original-spin")
    page = tab.page
    page.get_by_role("button", name="Use the suggestion").click()
    page.get_by_role("region", name="Your variant").get_by_text("Your variant").wait_for()
    page.get_by_label("Customer id").fill("cust-00002")
    page.get_by_label("Label").fill("wedding suit trousers")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Saved as").wait_for()
    _open(tab, live, "customer/cust-00002")
    saved = page.get_by_role("region", name="Saved configurations")
    assert "wedding suit trousers" in saved.inner_text()
    before = len(
        live.api("GET", "/v1/customers/cust-00002/configurations").json()["configurations"]
    )
    saved.get_by_role("button", name="Reorder").first.click()
    deadline = time.monotonic() + 10
    while (
        len(live.api("GET", "/v1/customers/cust-00002/configurations").json()["configurations"])
        == before
    ):
        assert time.monotonic() < deadline, "the reorder was not saved"
        time.sleep(0.1)
    assert tab.errors == [], tab.failed


def test_an_admin_activates_an_older_model_and_rolls_back(tab: Tab, live: LiveConsole) -> None:
    _run(
        live.env, "train", "--tenant", "demo", "--model", "popularity", "--publish", "--no-progress"
    )
    models = live.api("GET", "/v1/models").json()
    active = models["active"]
    other = next(v["version"] for v in models["versions"] if v["version"] != active)
    _sign_in(tab, live, live.admin_key)
    _wait_view(tab.page, "worklist")
    _open(tab, live, "models")
    table = tab.page.get_by_role("table")
    table.get_by_role("row").filter(has_text=other).get_by_role("button").click()
    deadline = time.monotonic() + 10
    while live.api("GET", "/v1/models").json()["active"] != other:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    _wait_view(tab.page, "models")
    tab.page.get_by_role("row").filter(has_text=active).get_by_role("button").click()
    while live.api("GET", "/v1/models").json()["active"] != active:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert tab.errors == [], tab.failed


def test_a_manager_logs_a_contact_and_sees_it_at_once(tab: Tab, live: LiveConsole) -> None:
    _sign_in(tab, live, live.admin_key)
    _wait_view(tab.page, "worklist")
    _open(tab, live, "customer/cust-00003")
    form = tab.page.get_by_role("region", name="Log a contact")
    form.get_by_label("Channel").select_option("email")
    form.get_by_label("Topic").fill("winter coats")
    form.get_by_label("Note").fill("asked about the <b>lined</b> coat")
    form.get_by_role("button", name="Log contact").click()
    _wait_view(tab.page, "customer")
    timeline = tab.page.get_by_role("region", name="Timeline")
    timeline.get_by_text("winter coats").wait_for()
    assert "asked about the <b>lined</b> coat" in timeline.inner_text()
    contacts = live.api("GET", "/v1/customers/cust-00003/contacts").json()["contacts"]
    assert contacts[0]["topic"] == "winter coats" and contacts[0]["channel"] == "email"
    assert tab.errors == [], tab.failed


def _worklist_ids(tab: Tab) -> list[str]:
    return [
        text.strip()
        for text in tab.page.locator("main table tbody tr td:first-child").all_inner_texts()
    ]


def _served_order(live: LiveConsole, manager: str) -> list[str]:
    page = live.api("GET", f"/v1/account-managers/{manager}/customers?questions=0").json()
    return [c["customer_id"] for c in page["customers"]]


def _wait_ids(tab: Tab, first: list[str], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while _worklist_ids(tab)[: len(first)] != first:
        assert time.monotonic() < deadline, (_worklist_ids(tab)[:5], first)
        time.sleep(0.05)


def test_a_manager_logs_a_contact_and_the_worklist_order_changes(
    tab: Tab, live: LiveConsole
) -> None:
    _sign_in(tab, live, live.admin_key)
    _wait_view(tab.page, "worklist")
    tab.page.get_by_label("Account manager").select_option("am-2")
    tab.page.get_by_role("button", name="Show").click()
    served = _served_order(live, "am-2")
    _wait_ids(tab, served[:3])
    before = _worklist_ids(tab)
    assert len(before) >= 3, before
    first = before[0]
    tab.page.get_by_role("link", name=first, exact=True).click()
    _wait_view(tab.page, "customer")
    form = tab.page.get_by_role("region", name="Log a contact")
    form.get_by_label("Outcome").select_option("reached")
    form.get_by_label("Topic").fill("annual review")
    form.get_by_role("button", name="Log contact").click()
    tab.page.get_by_role("region", name="Timeline").get_by_text("annual review").wait_for()
    tab.page.get_by_role("link", name="Worklist").click()
    _wait_view(tab.page, "worklist")
    now = _served_order(live, "am-2")
    assert now[0] == before[1] and now.index(first) > 0, (before[:3], now[:3])
    _wait_ids(tab, now[:3])  # the console shows the new order
    assert tab.errors == [], tab.failed


def test_the_models_view_lists_experiments_with_their_results(tab: Tab, live: LiveConsole) -> None:
    versions = [v["version"] for v in live.api("GET", "/v1/models").json()["versions"]]
    if len(versions) < 2:
        _run(
            live.env,
            "train",
            "--tenant",
            "demo",
            "--model",
            "popularity",
            "--publish",
            "--no-progress",
        )
        versions = [v["version"] for v in live.api("GET", "/v1/models").json()["versions"]]
    body = {"arms": {"A": versions[0], "B": versions[1]}, "split": {"A": 0.5, "B": 0.5}}
    assert live.api("PUT", "/v1/experiments/console-ab", body).status_code == 200
    try:
        _sign_in(tab, live, live.admin_key)
        _wait_view(tab.page, "worklist")
        _open(tab, live, "models")
        region = tab.page.get_by_role("region", name="Experiments")
        row = region.get_by_role("row").filter(has_text="console-ab")
        assert "running" in row.inner_text()
        row.get_by_role("button", name="Show the results of console-ab").click()
        region.get_by_role("heading", name="console-ab: running").wait_for()
        assert region.get_by_role("table", name="Arms").count() == 1
        assert _axe_violations(tab.page) == []
        assert tab.errors == [], tab.failed
    finally:
        live.api("DELETE", "/v1/experiments/console-ab")


def test_the_customer_view_shows_perks_granted_and_what_earns_the_others(
    tab: Tab, live: LiveConsole
) -> None:
    policy = {
        "tiers": {
            "MVC": {
                "perks": [
                    {
                        "perk_id": "vip-discount",
                        "title": "VIP discount",
                        "kind": "discount",
                        "value": 0.1,
                    },
                ]
            },
            "standard": {
                "perks": [{"perk_id": "newsletter", "title": "Style letter", "kind": "other"}]
            },
        }
    }
    assert live.api("PUT", "/v1/tiers/policy", policy).status_code == 200
    page = live.api("GET", "/v1/account-managers/am-1/customers?tier=standard&questions=0")
    cid = page.json()["customers"][0]["customer_id"]
    expected = live.api("GET", f"/v1/customers/{cid}/entitlements").json()
    assert [p["perk_id"] for p in expected["withheld"]] == ["vip-discount"]
    _sign_in(tab, live, live.admin_key)
    _wait_view(tab.page, "worklist")
    _open(tab, live, f"customer/{cid}")
    region = tab.page.get_by_role("region", name="Tier and perks")
    text = region.inner_text()
    assert "Style letter" in text and "VIP discount (10.0 %)" in text
    assert expected["withheld"][0]["requirement"]["requirement"] in text
    assert _axe_violations(tab.page) == [] and tab.errors == [], tab.failed


def test_a_version_shows_its_figures_and_how_it_compared(tab: Tab, live: LiveConsole) -> None:
    models = live.api("GET", "/v1/models").json()
    version = models["active"]
    detail = live.api("GET", f"/v1/models/{version}").json()
    _sign_in(tab, live, live.admin_key)
    _wait_view(tab.page, "worklist")
    _open(tab, live, "models")
    tab.page.get_by_role("link", name=version, exact=True).click()
    region = tab.page.get_by_role("region", name=f"Version {version}")
    region.wait_for()
    assert detail["family"] in region.inner_text()
    assert _axe_violations(tab.page) == [] and tab.errors == [], tab.failed
