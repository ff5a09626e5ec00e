"""The serving-side scorer: batch = one by one = the job's rows, the refresh rule, horizons, cold
start, all from a run's state as stored (JSON round trip)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.records import EventFrame
from insights.config import ValueConfig
from insights.differentiation import POPULATION_FIELDS
from insights.scoring import REFRESH_MOMENT_S, CustomerValueScorer, refresh_customer
from tests.value_fixtures import DAY, EPOCH
from training.insights import InsightsResult, compute_insights

AS_OF = EPOCH + 300 * DAY


def recommend(customer_id: str) -> list[str]:
    return ["i9", "i8"]


def strip(row):
    """The row without its time and the run's population fields (a refresh carries those)."""
    return {k: v for k, v in row.items() if k != "computed_at" and k not in POPULATION_FIELDS}


def scorer_of(result: InsightsResult) -> CustomerValueScorer:
    return CustomerValueScorer.from_state(json.loads(json.dumps(result.state)))  # as stored


def purchases(customer_ids: list[str], timestamps: list[float], value: float = 30.0) -> EventFrame:
    n = len(customer_ids)
    return EventFrame(
        np.array(customer_ids, dtype=object),
        np.full(n, "", dtype=object),
        np.full(n, "purchase", dtype=object),
        np.array(timestamps, dtype=np.float64),
        np.ones(n),
        np.full(n, value),
    )


@pytest.fixture(scope="module")
def result(shop):
    return compute_insights(shop, AS_OF, ValueConfig(), recommend=recommend)


@pytest.fixture(scope="module")
def scorer(result):
    return scorer_of(result)


def test_from_state_keeps_the_run(result, scorer):
    assert scorer.as_of == result.as_of
    assert scorer.config == ValueConfig()
    assert scorer.transaction_model.params_ == result.state["transaction_model"]["params"]
    assert "bgnbd" in repr(scorer)


def test_batch_equals_one_by_one_equals_the_job(result, scorer, shop):
    batch = scorer.score_many(shop, AS_OF, recommend=recommend)
    assert list(batch) == sorted(result.rows)
    for cid, row in result.rows.items():
        single = scorer.score(cid, shop, AS_OF, recommend=recommend)  # other customers ignored
        assert single is not None
        assert strip(single) == strip(batch[cid]) == strip(row), cid


def test_contacts_reach_the_cost_to_serve(shop):
    contacts = {"c0003": 40.0, "c0010": 12.0}
    job = compute_insights(shop, AS_OF, contacts=contacts)
    scorer = scorer_of(job)
    batch = scorer.score_many(shop, AS_OF, contacts=contacts)
    for cid in contacts:
        single = scorer.score(cid, shop, AS_OF, contacts=contacts[cid])
        assert single is not None
        assert strip(single) == strip(batch[cid]) == strip(job.rows[cid])
    plain = scorer.score_many(shop, AS_OF)
    assert plain["c0003"]["net_value"] > batch["c0003"]["net_value"]
    assert plain["c0001"] | {"computed_at": ""} == batch["c0001"] | {"computed_at": ""}


def test_no_row_without_a_purchase(scorer, shop):
    assert scorer.score("nobody", shop, AS_OF) is None
    assert scorer.score_many(EventFrame.empty(), AS_OF) == {}
    first = float(shop.timestamp.min())
    assert scorer.score_many(shop, first) == {}  # strictly before as_of


def test_refresh_as_of_is_just_after_the_event_never_before_the_run(scorer):
    assert scorer.refresh_as_of(AS_OF + 5 * DAY) == AS_OF + 5 * DAY + REFRESH_MOMENT_S
    assert scorer.refresh_as_of(AS_OF - 40 * DAY) == AS_OF


def test_refresh_rule(result, scorer, shop):
    """Each customer as of their refresh time; those on one observation day share one pass (as
    of the latest); customers not in ``newest`` are left out; a return alone scores nothing."""
    a, b, c, d = "c0001", "c0002", "c0003", "c0004"
    t_a, t_b, t_c = AS_OF + 2.6 * DAY, AS_OF + 2.2 * DAY, AS_OF + 9.5 * DAY
    history = EventFrame.concat([shop, purchases([a, b, c], [t_a, t_b, t_c])])
    newest = {a: t_a, b: t_b, c: t_c, d: AS_OF - 50 * DAY, "only-returns": AS_OF + DAY}
    rows = scorer.refresh(history, newest)
    assert set(rows) == {a, b, c, d}
    same_day = t_a + REFRESH_MOMENT_S
    for cid, when in ((a, same_day), (b, same_day), (c, t_c + REFRESH_MOMENT_S), (d, AS_OF)):
        expected = scorer.score(cid, history, when)
        assert expected is not None
        assert strip(rows[cid]) == strip(expected), cid
    assert rows[a]["as_of"] == rows[b]["as_of"] != rows[c]["as_of"]
    assert strip(rows[d]) == strip(
        {**result.rows[d], "next_best_action": rows[d]["next_best_action"]}
    )
    assert rows[a]["history"]["purchases"] == result.rows[a]["history"]["purchases"] + 1


def test_refresh_customer_is_the_scorer(result, scorer, shop):
    mine = shop.select(shop.customer_id == "c0005")
    later = AS_OF + 30 * DAY
    via_function = refresh_customer(result.state, mine, later, contacts=2.0)
    assert via_function is not None
    assert strip(via_function) == strip(scorer.score("c0005", shop, later, contacts=2.0) or {})
    assert refresh_customer(result.state, shop, later, customer_id="c0005") is not None
    with pytest.raises(ValueError, match="several customers"):
        refresh_customer(result.state, shop, later)


def test_at_horizon(result, scorer):
    horizon = scorer.config.horizon_days
    for row in list(result.rows.values())[:40]:
        same = scorer.at_horizon(row, horizon)
        assert same["clv"] == pytest.approx(row["clv"], rel=1e-12)
        assert same["predicted_purchases"] == pytest.approx(row["predicted_purchases"], rel=1e-12)
        short, long = scorer.at_horizon(row, 30), scorer.at_horizon(row, 3650)
        assert short["predicted_purchases"] <= row["predicted_purchases"]
        assert row["predicted_purchases"] <= long["predicted_purchases"]
        assert short["clv"] <= row["clv"] <= long["clv"]
        assert short["horizon_days"] == 30
        # Only the horizon's figures move; the tier and actions belong to the configured horizon.
        moved = {"clv", "predicted_purchases", "horizon_days"}
        assert {k: v for k, v in short.items() if k not in moved} == {
            k: v for k, v in row.items() if k not in moved
        }
    assert row["horizon_days"] == horizon  # the row given is not changed
    with pytest.raises(ValueError, match="no purchase history"):
        scorer.at_horizon(scorer.no_purchases("newbie"), 30)


def test_no_purchases_answer(scorer):
    row = scorer.no_purchases("newbie")
    assert row["customer_id"] == "newbie" and row["status"] == "no_purchases"
    assert row["tier"] == "standard" and row["lifecycle_stage"] == "exploration"
    assert row["clv"] is None and row["history"] is None and row["as_of"] is None
    assert row["rfm"] == {"r": None, "f": None, "m": None}
    assert row["next_best_action"]["action"] == "cross_sell"
    assert scorer.no_purchases("other")["next_tier"] is row["next_tier"]  # worked out once per run


@pytest.mark.parametrize("mvc_share", [0.2, 0.05])
def test_no_purchases_next_tier_is_a_typical_first_purchase(shop, mvc_share):
    """What MVC takes from nothing is what it takes a typical first-time buyer, plus that
    purchase (here a typical first purchase is enough for MVC at 20%, not at 5%)."""
    scorer = scorer_of(compute_insights(shop, AS_OF, ValueConfig(mvc_share=mvc_share)))
    nxt = scorer.no_purchases("newbie")["next_tier"]
    value = scorer.fallback_spend
    first = purchases(["t"], [AS_OF - REFRESH_MOMENT_S], value)
    typical = scorer.score("t", first, AS_OF)
    assert typical is not None
    worth = f"a first purchase (a typical one is worth {value:.2f})"
    if mvc_share == 0.2:
        assert typical["tier"] == "MVC"
        assert nxt == {"tier": "MVC", "requirement": worth, "purchases": 1}
    else:
        then = typical["next_tier"]
        assert typical["tier"] == "standard" and then["tier"] == "MVC"
        assert nxt == {
            "tier": "MVC",
            "requirement": f"{worth}, then {then['requirement']}",
            "reachable": then["reachable"],
            "purchases": None if then["purchases"] is None else then["purchases"] + 1,
            "spend": None,
            "within_days": then["within_days"],
        }
