"""RFM, Pareto, tiers, lifecycle and action rules on fixtures whose answer is obvious."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights.actions import next_best_action
from insights.config import ValueConfig
from insights.lifecycle import lifecycle_stage, purchase_trend
from insights.pareto import pareto_report, top_share
from insights.rfm import RFMScorer, tie_aware_scores
from insights.tiers import ValueTiers


def test_rfm_one_time_buyers_share_the_lowest_score():
    f = np.array([1] * 60 + [2] * 15 + [3] * 10 + [4] * 5 + [5] * 5 + [9] * 5)
    scores = tie_aware_scores(f)
    assert set(scores[f == 1]) == {1}
    assert set(scores[f == 2]) == {2}
    assert scores[f == 9][0] == 5
    assert sorted(set(scores)) == [1, 2, 3, 4, 5]  # the rest still spread over the scale


def test_rfm_plain_quintiles_without_ties():
    assert tie_aware_scores(np.arange(100)).tolist() == [s for s in range(1, 6) for _ in range(20)]


def test_rfm_all_equal_is_neutral():
    assert tie_aware_scores([4, 4, 4]).tolist() == [3, 3, 3]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=80))
def test_rfm_ties_kept_and_order_respected(values):
    v = np.array(values, dtype=float)
    s = tie_aware_scores(v)
    order = np.argsort(v, kind="stable")
    assert np.all(np.diff(s[order]) >= 0)
    for u in np.unique(v):
        assert len(set(s[v == u])) == 1
    assert s.min() >= 1 and s.max() <= 5


def test_rfm_recency_is_inverted_and_reusable():
    scorer = RFMScorer().fit(
        days_since_last=[1, 10, 50, 100, 300],
        purchases=[5, 4, 3, 2, 1],
        order_value=[50, 40, 30, 20, 10],
    )
    assert scorer.score([1, 300], [5, 1], [50, 10]) == {"r": [5, 1], "f": [5, 1], "m": [5, 1]}
    again = RFMScorer.from_dict(scorer.to_dict())
    assert again.score([0, 999], [9, 1], [99, 1]) == {"r": [5, 1], "f": [5, 1], "m": [5, 1]}


def test_pareto_extremes_and_curve():
    assert top_share([100, 0, 0, 0, 0]) == 1.0
    assert top_share([1.0] * 10) == pytest.approx(0.2)
    assert top_share([]) == 0.0
    rep = pareto_report([80, 5, 5, 5, 5], points=11)
    assert rep["top_revenue_share"] == pytest.approx(0.8)
    assert rep["customers_for_80_percent"] == pytest.approx(0.2)
    shares = [p["revenue_share"] for p in rep["curve"]]
    assert shares[0] == 0 and shares[-1] == 1 and all(np.diff(shares) >= 0)
    assert pareto_report([1.0] * 5)["gini"] == pytest.approx(0.0)


def fitted_tiers() -> ValueTiers:
    clv = np.arange(1.0, 101.0)  # MVC cut at the 80th percentile: 80.2
    return ValueTiers(mvc_share=0.2, mgc_share=0.5).fit(clv, np.full(100, 10.0))


def test_tiers_rules():
    t = fitted_tiers()
    assert t.thresholds_["mvc_clv"] == pytest.approx(80.2)
    tiers = t.predict(
        clv=[90, 90, 5, 5, 70, 70],
        net_value=[80, -1, -2, 4, 60, 60],
        expected_spend=[10] * 6,
        p_alive=[1, 1, 1, 1, 1, 0.1],
        growth=[np.nan, np.nan, np.nan, 3.0, np.nan, np.nan],
    ).tolist()
    # a valuable customer who costs more than they bring is BZ, not MVC; a dead one is not MGC
    assert tiers == ["MVC", "BZ", "BZ", "MGC", "standard", "standard"]


def test_mgc_share_caps_the_growable():
    clv = np.linspace(1, 100, 100)
    t = ValueTiers(mgc_share=0.1).fit(
        clv, np.full(100, 10.0), clv, np.ones(100), np.full(100, np.nan)
    )
    tiers = t.predict(clv, clv, np.full(100, 10.0), np.ones(100), np.full(100, np.nan))
    assert (tiers == "MGC").sum() == 10
    assert set(clv[tiers == "MGC"]) == set(clv[:10])  # the most unrealised value


def test_next_tier_requirement_is_exact():
    t = fitted_tiers()
    clv0 = np.array([10.0, 80.0, 50.0])
    net0 = np.array([-5.0, 70.0, 40.0])
    tiers = np.array(["BZ", "standard", "MVC"], dtype=object)

    def after_purchases(k):  # each purchase adds 7 of value
        return clv0 + 7 * k, net0 + 7 * k

    def after_spend(s):  # one purchase worth s adds 1 + s / 2
        return clv0 + 1 + s / 2, net0 + 1 + s / 2

    out = t.next_tier(tiers, after_purchases, after_spend, window_days=90)
    assert out[2] is None and out[0] is not None and out[1] is not None
    assert out[0]["tier"] == "standard" and out[0]["purchases"] == 1 and out[0]["spend"] == 8.0
    # Any purchase reaches MVC here: said as one more purchase, never "0.00 more spend".
    assert out[1]["tier"] == "MVC" and out[1]["purchases"] == 1 and out[1]["spend"] is None
    assert out[1]["requirement"] == "1 more purchase within 90 days"
    assert (
        out[0]["requirement"] == "1 more purchase or 8.00 more spend in one purchase within 90 days"
    )

    big = np.array([0.0, 0.0, 0.0])
    out = t.next_tier(
        np.array(["standard"] * 3, dtype=object),
        lambda k: (big + 0.5 * k, big + 0.5 * k),
        lambda s: (big + 0 * s, big + 0 * s),
        window_days=30,
        max_purchases=50,
    )
    assert out[0] is not None
    assert out[0]["purchases"] is None and out[0]["spend"] is None
    assert out[0]["requirement"] == "more than 50 purchases within 30 days"


def test_next_tier_states_only_routes_within_the_customers_reach():
    """Three customers one route away from MVC: 5 purchases of 50, or one purchase of 300.
    At a pace of 2 purchases (100 spent) both are within 3x; at 1 purchase (50 spent) neither
    is (5 > 3 purchases, 300 > 150), and the row says so; at 0.5 purchases with a usual order
    of 100, only the one purchase of 300 is."""
    t = fitted_tiers()
    tiers = np.array(["standard"] * 3, dtype=object)
    need = float(t.thresholds_["mvc_clv"])
    base = np.full(3, need - 50.0)

    def after_purchases(k):  # each purchase adds 10 of value: 5 reach MVC
        return base + 10 * k, base + 10 * k

    def after_spend(s):  # one purchase worth s adds s / 6: 300 reaches MVC
        return base + s / 6, base + s / 6

    pace = (np.array([50.0, 50.0, 100.0]), np.array([2.0, 1.0, 0.5]), np.array([100.0, 50.0, 50.0]))
    out = t.next_tier(tiers, after_purchases, after_spend, window_days=90, pace=pace)
    both, none, spend = out
    assert both is not None and none is not None and spend is not None
    assert (both["purchases"], both["spend"], both["reachable"]) == (5, 300.0, True)
    assert (
        both["requirement"]
        == "5 more purchases or 300.00 more spend in one purchase within 90 days"
    )
    assert (none["purchases"], none["spend"], none["reachable"]) == (None, None, False)
    assert none["requirement"] == (
        "not within reach in 90 days at the customer's pace (about 1.0 purchases, 50.00 in that"
        " time): it would take 5 purchases"
    )
    assert (spend["purchases"], spend["spend"], spend["reachable"]) == (None, 300.0, True)
    assert spend["requirement"] == "300.00 more spend in one purchase within 90 days"


def test_lifecycle_rules():
    cfg = ValueConfig()
    stages = lifecycle_stage(
        frequency=[0, 0, 2, 5, 8, 8, 8],
        age_days=[10, 300, 100, 400, 400, 400, 400],
        p_alive=[1, 1, 0.9, 0.95, 0.3, 0.95, 0.95],
        churn_risk=[0.3, 0.85, 0.3, 0.1, 0.6, 0.2, 0.2],
        trend=[np.nan, np.nan, np.nan, 1.1, 1.0, 0.2, np.nan],
        config=cfg,
    ).tolist()
    assert stages == [
        "exploration",  # first purchase 10 days ago
        "decline",  # one purchase long ago, almost surely no purchase soon
        "formation",  # three purchases in 100 days
        "stable",
        "decline",  # probably gone
        "decline",  # buying at a fifth of their usual pace
        "stable",  # too few purchases expected to judge a trend
    ]


def test_purchase_trend_needs_evidence():
    tr = purchase_trend([10, 10, 1], [300, 300, 300], [0, 3, 0], [90, 90, 90], 2.0)
    assert tr[0] == 0.0 and tr[1] == pytest.approx(1.0) and np.isnan(tr[2])


def test_actions():
    common: dict[str, Any] = {"headroom": 50.0, "mvc_clv": 300.0, "upgrade_uplift": 0.1}
    act = next_best_action(
        "c", "BZ", "stable", clv=2.0, p_alive=1, churn_risk=0.1, net_value=-3.0, **common
    )
    assert act["action"] == "self_service" and act["priority"] == 0
    act = next_best_action(
        "c", "standard", "decline", clv=100.0, p_alive=0.2, churn_risk=0.8, net_value=90.0, **common
    )
    assert act["action"] == "retain" and act["priority"] == pytest.approx(400.0)
    act = next_best_action(
        "c",
        "MGC",
        "formation",
        clv=100.0,
        p_alive=1,
        churn_risk=0.2,
        net_value=90.0,
        recommend=lambda c: ["i1", "i2", "i3", "i4"],
        **common,
    )
    assert act["action"] == "cross_sell" and act["items"] == ["i1", "i2", "i3"]
    assert act["priority"] == 50.0
    act = next_best_action(
        "c", "MVC", "stable", clv=500.0, p_alive=1, churn_risk=0.1, net_value=490.0, **common
    )
    assert act["action"] == "upgrade" and act["priority"] == pytest.approx(50.0)
