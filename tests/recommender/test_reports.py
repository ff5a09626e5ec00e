"""The report's intervals: known values, and a simulated experiment (known CTRs, conversion
rates and revenue per arm, thousands of impressions, seeded) whose intervals cover the truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from core.records import Event
from recommender.reports import mean_interval, newcombe, report_document, wilson

TRUE = {"A": (0.05, 0.02), "B": (0.065, 0.028)}  # CTR, conversion rate per impression
MEAN_ORDER = 40.0  # revenue of a converted impression ~ exponential with this mean


def simulate(seed: int, per_arm: int) -> list[Event]:
    """Impressions with clicks and purchases drawn from :data:`TRUE`, as a frontend sends them."""
    rng = np.random.default_rng(seed)
    events: list[Event] = []
    for arm, (ctr, conv) in TRUE.items():
        ctx = {"experiment_id": "sim", "arm": arm, "model_version": f"v-{arm}"}
        clicked = rng.random(per_arm) < ctr
        bought = rng.random(per_arm) < conv
        value = rng.exponential(MEAN_ORDER, per_arm)
        for i in range(per_arm):
            cid, item, t = f"{arm}{i}", f"item{i % 50}", 1000.0 + i
            events.append(Event(f"{arm}i{i}", cid, "impression", t, item, context=ctx))
            if clicked[i]:
                events.append(Event(f"{arm}c{i}", cid, "click", t + 5, item, context=ctx))
            if bought[i]:
                events.append(
                    Event(f"{arm}p{i}", cid, "purchase", t + 60, item, value=float(value[i]))
                )
    return events


def test_wilson_and_newcombe_match_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872, table II and table II of the
    # companion paper: 81/263 Wilson (0.2553, 0.3662); 56/70 - 48/80 diff (0.0524, 0.3339)
    lo, hi = wilson(81, 263)
    assert (round(lo, 4), round(hi, 4)) == (0.2553, 0.3662)
    lo, hi = newcombe(48, 80, 56, 70)
    assert (round(lo, 4), round(hi, 4)) == (0.0524, 0.3339)
    assert wilson(0, 0) == (0.0, 1.0) and wilson(0, 10)[0] == 0.0
    values = np.array([0.0, 0.0, 3.0, 9.0, 0.0])
    lo, hi = mean_interval(float(values.sum()), float((values**2).sum()), len(values))
    t = stats.norm.ppf(0.975) * values.std(ddof=1) / np.sqrt(len(values))
    assert (lo, hi) == pytest.approx((values.mean() - t, values.mean() + t))


def test_a_simulated_experiment_report_covers_the_true_differences() -> None:
    doc = report_document(simulate(seed=11, per_arm=6000), by="arm", experiment_id="sim")
    groups = {g["key"]: g for g in doc["groups"]}
    assert groups["A"]["impressions"] == groups["B"]["impressions"] == 6000
    # one seed, no choice of it: per-arm intervals may each miss 5% of the time (their
    # calibration is the next test's); the differences are the experiment's answer
    assert all(g["ctr"]["low"] < g["ctr"]["value"] < g["ctr"]["high"] for g in groups.values())
    (diff,) = doc["comparisons"]
    true_ctr = TRUE["B"][0] - TRUE["A"][0]
    true_conv = TRUE["B"][1] - TRUE["A"][1]
    assert diff["ctr_difference"]["low"] <= true_ctr <= diff["ctr_difference"]["high"]
    c = diff["conversion_rate_difference"]
    assert c["low"] <= true_conv <= c["high"]
    r = diff["revenue_per_impression_difference"]
    assert r["low"] <= true_conv * MEAN_ORDER <= r["high"]
    # the report by model version counts the same impressions under the versions' names
    by_version = report_document(simulate(seed=11, per_arm=6000))
    assert [g["key"] for g in by_version["groups"]] == ["v-A", "v-B"]


def test_the_intervals_cover_the_truth_about_95_percent_of_the_time() -> None:
    """200 seeded experiments of 2,000 impressions per arm: each 95% interval (differences and
    per arm) covers the truth in about 95% of them (a binomial band: 180 to 200)."""
    covered = {"ctr": 0, "conversion": 0, "revenue": 0, "ctr A": 0, "revenue B": 0}
    runs = 200
    for seed in range(runs):
        doc = report_document(simulate(seed, per_arm=2000), by="arm")
        (d,) = doc["comparisons"]
        a, b = doc["groups"]
        covered["ctr A"] += a["ctr"]["low"] <= TRUE["A"][0] <= a["ctr"]["high"]
        rpi = b["revenue_per_impression"]
        covered["revenue B"] += rpi["low"] <= TRUE["B"][1] * MEAN_ORDER <= rpi["high"]
        for name, key, truth in (
            ("ctr", "ctr_difference", TRUE["B"][0] - TRUE["A"][0]),
            ("conversion", "conversion_rate_difference", TRUE["B"][1] - TRUE["A"][1]),
            ("revenue", "revenue_per_impression_difference", (TRUE["B"][1] - TRUE["A"][1]) * 40),
        ):
            covered[name] += d[key]["low"] <= truth <= d[key]["high"]
    assert all(180 <= n <= 200 for n in covered.values()), covered
