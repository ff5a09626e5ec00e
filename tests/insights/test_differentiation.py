"""Share of wallet, retention and needs segments on fixtures whose answer is plain."""

from __future__ import annotations

import numpy as np
import pytest

from core.records import Event, EventFrame
from insights.config import ValueConfig
from insights.differentiation import peer_wallets
from insights.needs import NeedsSegmenter, needs_features
from insights.retention import retention_report
from training.insights import compute_insights

DAY = 86400.0
AS_OF = 1_700_006_400.0  # 2023-11-15T00:00:00Z


def test_peer_wallet_is_the_groups_high_spend_never_below_ones_own() -> None:
    spend = np.array([10.0, 20.0, 30.0, 40.0, 50.0, 1.0, 2.0])
    group = np.array([0, 0, 0, 0, 0, 1, 1])
    wallets = peer_wallets(spend, group, quantile=0.5)
    assert wallets.tolist() == [30.0, 30.0, 30.0, 40.0, 50.0, 1.5, 2.0]


def test_share_of_wallet_in_the_job() -> None:
    """Forty customers alike (one segment, same tenure), spending 10, 20, ... 400 once, 200 days
    ago: the wallet is the 90th percentile of their annual spend, the top spenders fill theirs."""
    events = [
        Event(f"e{k}", f"c{k:02d}", "purchase", AS_OF - 200 * DAY, item_id="i", value=10.0 * k)
        for k in range(1, 41)
    ]
    res = compute_insights(
        EventFrame.from_events(events), AS_OF, ValueConfig(needs_segments=1, value_model="model")
    )
    annual = np.array([10.0 * k * 365 / 200 for k in range(1, 41)])
    wallet = float(np.quantile(annual, 0.9))
    for k in (1, 20, 40):
        row = res.rows[f"c{k:02d}"]
        assert row["annual_spend"] == pytest.approx(annual[k - 1])
        assert row["wallet_source"] == "peer_estimate"
        assert row["wallet_estimate"] == pytest.approx(max(wallet, annual[k - 1]))
        assert row["share_of_wallet"] == pytest.approx(min(1.0, annual[k - 1] / wallet))
        assert row["wallet_gap"] == pytest.approx(max(wallet - annual[k - 1], 0.0))
    kpi = res.share_of_customer
    assert kpi["customers"] == 40 and kpi["products_per_customer"] == 1.0
    assert kpi["share_of_wallet"] == pytest.approx(kpi["spend"] / kpi["wallet"])
    declared = compute_insights(
        EventFrame.from_events(events),
        AS_OF,
        ValueConfig(needs_segments=1, value_model="model"),
        declared_wallets={"c01": 365.0},
    )
    assert declared.rows["c01"]["wallet_source"] == "declared"
    assert declared.rows["c01"]["share_of_wallet"] == pytest.approx(annual[0] / 365.0)


def test_retention_counts_and_money() -> None:
    """a buys Jan-Mar, b Jan and Mar, c Feb only, one unit each, a at 10 a time."""
    jan, feb, mar = 1293840000.0, 1296518400.0, 1298937600.0
    r = retention_report(
        np.array(["a", "b", "a", "c", "a", "b"], dtype=object),
        np.array([jan, jan, feb, feb, mar, mar]),
        np.array([10.0, 1.0, 10.0, 1.0, 10.0, 1.0]),
        "month",
        as_of=mar + 10 * DAY,
        mvc=np.array(["b"], dtype=object),
        margin=0.5,
        acquisition_cost=7.0,
    )
    _, feb_r, mar_r = r["periods"]
    assert (feb_r["retained"], feb_r["churned"], feb_r["customer_churn"]) == (1, 1, 0.5)
    assert feb_r["lost_revenue"] == 1.0 and feb_r["revenue_churn"] == pytest.approx(1 / 11)
    assert feb_r["mvc_lost_revenue"] == 1.0  # b stopped in February
    assert mar_r["reactivated"] == 1 and mar_r["churned"] == 1 and mar_r["mvc_lost_revenue"] == 0
    assert mar_r["kept_margin"] == 5.0 and feb_r["acquisition_spend"] == 7.0
    assert mar_r["replacement_cost"] == 7.0
    assert mar_r["partial"] and not feb_r["partial"]
    assert [c["retention"] for c in r["cohorts"]] == [[1.0, 0.5, 1.0], [1.0, 0.0]]
    q = retention_report(
        np.array(["a", "b"], dtype=object),
        np.array([jan, mar]),
        np.ones(2),
        "quarter",
        as_of=mar,
    )
    assert [p["period"] for p in q["periods"]] == ["2011-Q1"]


def test_needs_segments_are_labelled_by_what_sets_them_apart() -> None:
    rng = np.random.default_rng(1)
    n = 300
    kind = rng.integers(0, 3, n)  # 0: cheap toys often, 1: wine premium, 2: books mid
    cat = np.array(["toys", "wine", "books"], dtype=object)[kind]
    price = np.array([5.0, 120.0, 20.0])[kind] * rng.uniform(0.9, 1.1, n)
    days = np.array([30.0, 3.0, 6.0])[kind]
    feats = needs_features(np.arange(n), cat, price, days, np.full(n, 365.0), n)
    seg = NeedsSegmenter(n_segments=3).fit(feats)
    assigned = seg.predict(feats)
    labels = dict(zip(seg.ids_, seg.labels_, strict=True))
    for k, expect in enumerate(["toys-led, budget, frequent", "wine-led, premium", "books-led"]):
        found = {labels[a] for a in assigned[kind == k]}
        assert len(found) == 1 and found.pop().startswith(expect)
