"""The insights concern beyond summary and rows, on both backends: history per run, ordered row
scans, versioned settings."""

from __future__ import annotations

from core.records import Customer
from store.base import Store


def test_history_keeps_each_run_oldest_first(store: Store) -> None:
    store.put_insights(
        "t",
        {"computed_at": "2026-01-02T00:00:00Z"},
        {"a": {"tier": "MVC"}},
        history={"a": {"tier": "MVC", "computed_at": "2026-01-02T00:00:00Z"}},
    )
    store.put_insights(
        "t",
        {"computed_at": "2026-01-01T00:00:00Z"},
        {"a": {"tier": "BZ"}},
        history={"a": {"tier": "BZ", "computed_at": "2026-01-01T00:00:00Z"}},
    )
    assert [e["tier"] for e in store.get_insights_history("t", "a")] == ["BZ", "MVC"]
    assert store.get_insights_history("t", "b") == []
    assert store.get_insights_history("other", "a") == []


def test_a_run_without_history_adds_none(store: Store) -> None:
    store.put_insights("t", {"computed_at": "r1"}, {"a": {"tier": "MVC"}})
    assert store.get_insights_history("t", "a") == []


def test_rows_scan_in_id_order_from_a_cursor(store: Store) -> None:
    rows = {f"c{i:04d}": {"i": i} for i in range(2500, -1, -1)}  # over one page, unordered
    store.put_insights("t", {"computed_at": "r"}, rows)
    ids = [cid for cid, _ in store.iter_insights_rows("t")]
    assert ids == sorted(rows)
    after = list(store.iter_insights_rows("t", after="c2498"))
    assert after == [("c2499", {"i": 2499}), ("c2500", {"i": 2500})]
    assert list(store.iter_insights_rows("other")) == []


def test_settings_are_versioned(store: Store) -> None:
    assert store.get_insights_setting("t", "value_config") is None
    assert store.put_insights_setting("t", "value_config", {"margin": 0.3}) == 1
    assert store.put_insights_setting("t", "value_config", {"margin": 0.4}) == 2
    assert store.get_insights_setting("t", "value_config") == (2, {"margin": 0.4})
    assert store.put_insights_setting("t", "tier_policy", {"tiers": {}}) == 1
    assert store.get_insights_setting("other", "value_config") is None


def test_rows_of_several_customers_at_once(store: Store) -> None:
    rows = {f"c{k:04d}": {"customer_id": f"c{k:04d}", "tier": "MVC", "k": k} for k in range(1100)}
    store.put_insights_rows("t", rows)
    wanted = ["c0003", "c1099", "nobody", "c0003", *[f"c{k:04d}" for k in range(1000, 1050)]]
    got = store.get_insights_rows("t", wanted)
    assert sorted(got) == sorted({"c0003", "c1099", *[f"c{k:04d}" for k in range(1000, 1050)]})
    assert got["c1099"] == rows["c1099"] == store.get_insights_row("t", "c1099")
    assert len(store.get_insights_rows("t", list(rows))) == 1100  # beyond one chunk
    assert (
        store.get_insights_rows("other", ["c0003"]) == {} and store.get_insights_rows("t", []) == {}
    )


def test_a_staged_run_is_unseen_until_it_commits_whole(store: Store) -> None:
    store.put_insights("t", {"computed_at": "r0"}, {"old": {"tier": "BZ"}})
    store.stage_insights("t", "r1", {"a": {"tier": "MVC"}}, {"a": {"tier": "MVC", "n": 1}})
    store.stage_insights("t", "r1", {"b": {"tier": "BZ"}, "gone": {"tier": "BZ"}})
    # readers still see the previous run, whole: rows, summary and history
    assert store.get_insights_summary("t") == {"computed_at": "r0"}
    assert [c for c, _ in store.iter_insights_rows("t")] == ["old"]
    assert store.get_insights_row("t", "a") is None and store.get_insights_history("t", "a") == []
    store.put_customer("t", Customer("gone"))
    assert store.erase_customer("t", "gone")  # erased while staged: never lands

    store.commit_insights("t", "r1", {"computed_at": "r1"})

    assert store.get_insights_summary("t") == {"computed_at": "r1"}
    assert dict(store.iter_insights_rows("t")) == {"a": {"tier": "MVC"}, "b": {"tier": "BZ"}}
    assert store.get_insights_history("t", "a") == [{"tier": "MVC", "n": 1}]
    # a failed run leaves nothing
    store.stage_insights("t", "r2", {"c": {"tier": "MVC"}}, {"c": {"tier": "MVC"}})
    store.discard_insights("t", "r2")
    store.commit_insights("t", "r3", {"computed_at": "r3"})  # a run without rows empties the table
    assert list(store.iter_insights_rows("t")) == []
    assert store.get_insights_history("t", "c") == []
    assert store.get_insights_summary("other") is None  # tenants apart
