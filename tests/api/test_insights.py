"""Customer intelligence over HTTP: shapes, access, horizons, refresh on purchase, the account
manager's order, and the published CDNOW figures after ``atelier insights`` on loaded events."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, get_args

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.schemas.insights import Action, Stage, Tier
from cli.main import main as atelier
from core.records import Customer, Event, EventFrame
from insights.actions import ACTIONS, order_for_action
from insights.lifecycle import STAGES
from insights.scoring import refresh_customer
from insights.summary import DAY
from insights.tiers import TIERS
from store.base import Store
from tests.api.conftest import KeyMaker
from tests.conftest import TEST_REDIS_URL
from training.datasets import cdnow

INSIGHT_PATHS = ("/v1/insights/pareto", "/v1/insights/segments", "/v1/insights/model")
TODAY = float(int(time.time() // DAY) * DAY)
#: The job runs 60 days ago, so that purchases "in the next 90 days" can be posted (not future).
AS_OF = TODAY - 60 * DAY
N = 60


def run_insights(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    """``atelier insights ...`` against the test's own store (same file or Redis prefix)."""
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATELIER_STORE", store.backend)
    if store.backend == "redis":
        monkeypatch.setenv("ATELIER_REDIS_URL", TEST_REDIS_URL)
        monkeypatch.setenv("ATELIER_REDIS_PREFIX", store.prefix)  # type: ignore[attr-defined]
    assert atelier(["insights", *args]) == 0


def shop_events() -> list[Event]:
    """60 customers over the 400 days before AS_OF, drawn as the models assume (fixed seed): each
    buys at their own Poisson rate, may drop out after each purchase, and spends a fixed amount."""
    rng = np.random.default_rng(2)
    events = []
    for i in range(N):
        rate, dropout = rng.gamma(1.0, 1 / 30), rng.beta(1.0, 4.0)
        t, value, k = -rng.uniform(0, 400), float(np.round(rng.gamma(4, 10), 2)), 0
        while t < 0:
            events.append(
                Event(
                    f"s{i}-{k}",
                    f"c{i:02d}",
                    "purchase",
                    AS_OF + t * DAY,
                    item_id=f"i{k % 3}",
                    value=value,
                )
            )
            k += 1
            if rng.random() < dropout:
                break
            t += rng.exponential(1 / max(rate, 1e-3))
    return events


@pytest.fixture
def shop(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """Tenant "shop" with the 40 customers, c00-c05 managed by am-1, and insights as of AS_OF."""
    store.add_events("shop", shop_events())
    for cid in [f"c{i:02d}" for i in range(6)] + ["newbie"]:
        store.put_customer("shop", Customer(cid, account_manager="am-1"))
    day = time.strftime("%Y-%m-%d", time.gmtime(AS_OF))
    run_insights(store, tmp_path, monkeypatch, "--tenant", "shop", "--as-of", day)
    return store


def test_every_endpoint_answers_its_shape(client: TestClient, auth: KeyMaker, shop: Store) -> None:
    h = auth("shop", "customers")
    cid = _most_frequent(shop)
    body = client.get(f"/v1/customers/{cid}/insights", headers=h).json()
    assert body["customer_id"] == cid and body["status"] == "scored"
    assert body["tier"] in ("MVC", "MGC", "BZ", "standard")
    assert body["lifecycle_stage"] in ("exploration", "formation", "stable", "decline")
    assert set(body["rfm"]) == {"r", "f", "m"} and all(1 <= v <= 5 for v in body["rfm"].values())
    assert body["history"]["purchases"] > 3 and body["clv"] > 0
    assert 0 < body["p_alive"] <= 1 and 0 <= body["churn_risk"] <= 1
    assert body["predicted_purchases"] > 0 and body["horizon_days"] == 365
    assert {"action", "reason", "priority"} <= set(body["next_best_action"])
    assert body["next_tier"] is None or {"tier", "requirement"} <= set(body["next_tier"])
    assert body["computed_at"] and body["as_of"].startswith(
        time.strftime("%Y-%m-%d", time.gmtime(AS_OF))
    )

    pareto = client.get("/v1/insights/pareto", headers=h).json()
    assert len(pareto["curve"]) == 21 and pareto["n_customers"] == N
    assert pareto["curve"][0] == {"customer_share": 0.0, "revenue_share": 0.0}
    assert pareto["curve"][-1]["revenue_share"] == pytest.approx(1.0)
    assert 0.2 <= pareto["top_revenue_share"] <= 1.0

    seg = client.get("/v1/insights/segments", headers=h).json()
    assert set(seg["by_tier"]) == {"MVC", "MGC", "standard", "BZ"}
    assert set(seg["by_lifecycle"]) == {"exploration", "formation", "stable", "decline"}
    for group in ("by_tier", "by_lifecycle"):
        assert sum(s["customers"] for s in seg[group].values()) == N
        assert sum(s["revenue"] for s in seg[group].values()) == pytest.approx(
            pareto["total_revenue"]
        )

    model = client.get("/v1/insights/model", headers=h).json()
    assert set(model["transaction_model"]["params"]) == {"r", "alpha", "a", "b"}
    assert set(model["spend_model"]["params"]) == {"p", "q", "gamma"}
    assert model["n_customers"] == N and model["transaction_model"]["log_likelihood"] < 0
    assert model["calibration_period"]["end"] == time.strftime("%Y-%m-%d", time.gmtime(AS_OF - DAY))
    assert model["calibration_period"]["time_unit_days"] == 1 and model["horizon_days"] == 365


def test_scope_auth_and_tenants(client: TestClient, auth: KeyMaker, shop: Store) -> None:
    paths = ("/v1/customers/c07/insights", *INSIGHT_PATHS)
    wrong_scope = auth("shop", "events,recommend,admin")
    other = auth("other", "customers")
    for path in paths:
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
        r = client.get(path, headers=wrong_scope)
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
        r = client.get(path, headers=other)  # another tenant: as if it did not exist
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    h = auth("shop", "customers")
    r = client.get("/v1/customers/nobody/insights", headers=h)
    assert r.status_code == 404 and "nobody" in r.json()["detail"]


def test_no_job_yet_says_what_to_run(client: TestClient, auth: KeyMaker, store: Store) -> None:
    store.add_events("fresh", shop_events()[:5])
    h = auth("fresh", "customers")
    for path in ("/v1/customers/c01/insights", *INSIGHT_PATHS):
        r = client.get(path, headers=h)
        assert r.status_code == 404
        assert "atelier insights --tenant fresh" in r.json()["detail"]
    assert "not found" in client.get("/v1/customers/zz/insights", headers=h).json()["detail"]


def test_horizon(client: TestClient, auth: KeyMaker, shop: Store) -> None:
    h = auth("shop", "customers")
    url = f"/v1/customers/{_most_frequent(shop)}/insights"
    stored = client.get(url, headers=h).json()
    same = client.get(url, params={"horizon_days": 365}, headers=h).json()
    assert same["predicted_purchases"] == pytest.approx(stored["predicted_purchases"], rel=1e-12)
    assert same["clv"] == pytest.approx(stored["clv"], rel=1e-12)
    short = client.get(url, params={"horizon_days": 30}, headers=h).json()
    long = client.get(url, params={"horizon_days": 3650}, headers=h).json()
    assert (
        short["predicted_purchases"] < stored["predicted_purchases"] < long["predicted_purchases"]
    )
    assert short["clv"] < stored["clv"] < long["clv"]
    assert short["horizon_days"] == 30 and short["tier_horizon_days"] == 365
    for other in (short, long):  # tier and actions belong to the configured horizon
        for k in ("tier", "next_best_action", "next_tier", "net_value", "p_alive"):
            assert other[k] == stored[k]
    for bad in ("0", "0.5", "3651", "-1", "abc", "nan", "inf"):
        r = client.get(url, params={"horizon_days": bad}, headers=h)
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["loc"] == ["query", "horizon_days"]


def test_purchases_refresh_the_customer_at_once(
    client: TestClient, auth: KeyMaker, shop: Store
) -> None:
    h = auth("shop", "customers,events")
    rows = {f"c{i:02d}": _row(shop, f"c{i:02d}") for i in range(N)}
    # The climber: the customer whose way to MVC takes the fewest purchases (two or more).
    cid, row = min(
        (
            (c, r)
            for c, r in rows.items()
            if r["next_tier"] and (r["next_tier"]["purchases"] or 0) >= 2
        ),
        key=lambda cr: (cr[1]["next_tier"]["purchases"], cr[0]),
    )
    need = row["next_tier"]["purchases"]
    assert row["tier"] != "MVC" and row["next_tier"]["tier"] == "MVC" and need <= 20
    before = client.get(f"/v1/customers/{cid}/insights", headers=h).json()
    # One purchase (of the usual size) a day after the job's as_of, up to what the tier requires.
    events = [
        {
            "event_id": f"up-{k}",
            "customer_id": cid,
            "item_id": "i1",
            "type": "purchase",
            "value": row["expected_spend"],
            "timestamp": _rfc3339(AS_OF + (k + 0.5) * DAY),
        }
        for k in range(need)
    ]
    r = client.post("/v1/events", json={"events": events[:1]}, headers=h)
    assert r.status_code == 202 and r.json()["accepted"] == 1
    one = client.get(f"/v1/customers/{cid}/insights", headers=h).json()
    assert one["history"]["purchases"] == before["history"]["purchases"] + 1
    assert one["rfm"]["r"] == 5 and one["rfm"]["f"] >= before["rfm"]["f"]
    assert one["predicted_purchases"] > before["predicted_purchases"]
    assert one["model_computed_at"] == before["computed_at"]  # parameters fixed
    assert one["as_of"] > before["as_of"]
    r = client.post("/v1/events", json={"events": events[1:]}, headers=h)
    assert r.json()["accepted"] == need - 1
    after = client.get(f"/v1/customers/{cid}/insights", headers=h).json()
    assert after["history"]["purchases"] == before["history"]["purchases"] + need
    assert after["tier"] == "MVC" and after["next_tier"] is None  # the requirement was honest
    # The same figures as the domain's own refresh from the stored state.
    summary = shop.get_insights_summary("shop")
    assert summary is not None
    state = summary["state"]
    hist = EventFrame.from_events(shop.customer_events("shop", cid))
    ref = refresh_customer(state, hist, AS_OF + (need - 0.5) * DAY + 1.0)
    assert ref is not None
    for k in ("tier", "lifecycle_stage", "rfm", "next_tier"):
        assert after[k] == ref[k]
    for k in ("clv", "predicted_purchases", "p_alive", "churn_risk"):
        assert after[k] == pytest.approx(ref[k], rel=1e-9)
    # A return lowers the expected spend; views change nothing.
    ret = {
        "event_id": "ret-1",
        "customer_id": cid,
        "item_id": "i1",
        "type": "return",
        "value": row["expected_spend"],
        "timestamp": _rfc3339(TODAY),
    }
    view = {"event_id": "view-1", "customer_id": "c03", "item_id": "i1", "type": "view"}
    client.post("/v1/events", json={"events": [ret, view]}, headers=h)
    returned = client.get(f"/v1/customers/{cid}/insights", headers=h).json()
    assert returned["history"]["returned"] == pytest.approx(row["expected_spend"])
    assert returned["expected_spend"] < after["expected_spend"]
    assert shop.get_insights_row("shop", "c03") == rows["c03"]


def _most_frequent(store: Store) -> str:
    rows = [_row(store, f"c{i:02d}") for i in range(N)]
    best: str = max(rows, key=lambda r: (r["history"]["purchases"], r["customer_id"]))[
        "customer_id"
    ]
    return best


def _row(store: Store, customer_id: str) -> dict[str, Any]:
    row = store.get_insights_row("shop", customer_id)
    assert row is not None
    return row


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def test_known_customers_without_a_row(client: TestClient, auth: KeyMaker, shop: Store) -> None:
    h = auth("shop", "customers")
    body = client.get("/v1/customers/newbie/insights", headers=h).json()
    assert body["status"] == "no_purchases" and body["tier"] == "standard"
    assert body["lifecycle_stage"] == "exploration" and body["clv"] is None
    assert body["rfm"] == {"r": None, "f": None, "m": None} and body["history"] is None
    assert body["next_tier"]["tier"] == "MVC"
    assert body["next_tier"]["requirement"].startswith("a first purchase")
    assert body["next_best_action"]["action"] == "cross_sell"
    assert shop.get_insights_row("shop", "newbie") is None  # nothing invented is stored
    # Purchases stored without the API's hook (a bulk import after the job): scored on demand.
    shop.add_events("shop", [Event("late-1", "late", "purchase", AS_OF + DAY, value=20.0)])
    late = client.get("/v1/customers/late/insights", headers=h).json()
    assert late["status"] == "scored" and late["history"]["purchases"] == 1
    assert late["lifecycle_stage"] == "exploration"
    assert shop.get_insights_row("shop", "late") is not None
    # Erased customers are unknown, insights included.
    assert client.delete("/v1/customers/c07", headers=h).status_code == 204
    assert client.get("/v1/customers/c07/insights", headers=h).status_code == 404


def test_account_manager_list_is_in_action_order(
    client: TestClient, auth: KeyMaker, shop: Store
) -> None:
    h = auth("shop", "customers")
    body = client.get("/v1/account-managers/am-1/customers", headers=h).json()
    rows = [_row(shop, f"c{i:02d}") for i in range(6)]
    expected = [r["customer_id"] for r in order_for_action(rows)] + ["newbie"]
    assert [c["customer_id"] for c in body["customers"]] == expected
    first = body["customers"][0]
    assert first["tier"] and first["next_best_action"]["action"] and first["clv"] > 0
    assert first["p_alive"] is not None and first["predicted_purchases"] is not None
    assert body["customers"][-1]["tier"] is None
    priorities = [c["priority"] for c in body["customers"][:-1]]
    assert priorities == sorted(priorities, reverse=True)


BGNBD = {"r": "0.243", "alpha": "4.414", "a": "0.793", "b": "2.426"}
GAMMA_GAMMA = {"p": "6.25", "q": "3.74", "gamma": "15.44"}


def as_quoted(value: float, published: str) -> bool:
    """``value`` rounds to ``published`` at the precision it is quoted with."""
    return round(value, len(published.split(".")[1])) == float(published)


def test_cdnow_published_figures_through_the_api(
    client: TestClient,
    auth: KeyMaker,
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = cdnow()
    events = [
        Event(f"cdnow-{i}", str(c), "purchase", float(t), quantity=float(q), value=float(v))
        for i, (c, t, q, v) in enumerate(
            zip(frame.customer_id, frame.timestamp, frame.quantity, frame.value, strict=True)
        )
    ]
    for start in range(0, len(events), 5000):
        store.add_events("cdnow", events[start : start + 5000])
    run_insights(
        store,
        tmp_path,
        monkeypatch,
        "--tenant",
        "cdnow",
        "--as-of",
        "1997-10-01",
        "--time-unit-days",
        "7",
    )
    h = auth("cdnow", "customers")
    model = client.get("/v1/insights/model", headers=h).json()
    params = model["transaction_model"]["params"]
    assert all(as_quoted(params[k], v) for k, v in BGNBD.items()), params
    spend = model["spend_model"]["params"]
    assert all(as_quoted(spend[k], v) for k, v in GAMMA_GAMMA.items()), spend
    assert model["n_customers"] == 2357 and model["spend_model"]["n_customers"] == 946
    assert model["calibration_period"]["start"] == "1997-01-01"
    assert model["calibration_period"]["end"] == "1997-09-30"
    assert model["time_unit_days"] == 7
    # Customer 00004: x = 2, t_x = 30.43, T = 38.86 weeks; 1.226 purchases in the next 39 weeks.
    body = client.get("/v1/customers/00004/insights?horizon_days=273", headers=h).json()
    assert body["history"]["purchases"] == 3
    assert as_quoted(body["predicted_purchases"], "1.226"), body["predicted_purchases"]


def test_the_published_vocabulary_is_the_models() -> None:
    """Tiers, lifecycle stages and actions of the API are exactly those the models produce."""
    assert set(get_args(Tier)) == set(TIERS)
    assert set(get_args(Stage)) == set(STAGES)
    assert set(get_args(Action)) == set(ACTIONS)
