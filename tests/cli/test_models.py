"""``atelier train --tenant --publish``, ``publish`` and ``report`` against the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from core.records import Event, Item
from recommender.feedback import feedback_report
from store.embedded import SQLiteStore


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SQLiteStore:
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATELIER_STORE", "embedded")
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    store.upsert_items("shop", [Item(f"i{k}") for k in range(6)])
    events = [
        Event(f"e{c}-{k}", f"c{c}", "purchase", 1e9 + c * 1000 + k, item_id=f"i{(c + k) % 6}")
        for c in range(40)
        for k in range(3)
    ]
    store.add_events("shop", events, [4.0] * len(events))
    return store


def test_train_publish_and_roll_forward(
    shop: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--tenant", "shop", "--model", "ease", "--publish", "--no-progress"]) == 0
    capsys.readouterr()
    v1 = shop.active_model("shop")
    assert v1 is not None
    assert main(["train", "--tenant", "shop", "--model", "itemknn", "--no-progress"]) == 0
    out = capsys.readouterr().out
    v2 = json.loads(out[out.index("{") :])["version"]
    assert shop.active_model("shop") == v1  # trained, not published
    assert main(["publish", "--tenant", "shop", "--version", v2, "--activate"]) == 0
    assert shop.active_model("shop") == v2
    assert [m.version for m in shop.list_models("shop")] == [v1, v2]
    assert main(["publish", "--tenant", "shop", "--version", "nope"]) == 2


def test_publish_refuses_a_corrupt_version(
    shop: SQLiteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--tenant", "shop", "--model", "ease", "--no-progress"]) == 0
    out = capsys.readouterr().out
    version = json.loads(out[out.index("{") :])["version"]
    arrays = tmp_path / "models" / "shop" / version / "B_.npy"
    arrays.write_bytes(arrays.read_bytes()[:-8] + b"\x00" * 8)  # same size, other bytes
    assert main(["publish", "--tenant", "shop", "--version", version, "--activate"]) == 2
    assert "B_.npy" in capsys.readouterr().err
    assert shop.list_models("shop") == []  # neither published nor active
    assert shop.active_model("shop") is None


def test_report_counts_ctr_and_conversions(
    shop: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    ctx = {"model_version": "v1"}
    shop.add_events(
        "shop",
        [
            Event("x1", "c1", "impression", 100.0, item_id="i1", context=ctx),
            Event("x2", "c1", "impression", 100.0, item_id="i2", context=ctx),
            Event("x3", "c1", "click", 110.0, item_id="i1", context=ctx),
            Event("x4", "c1", "purchase", 200.0, item_id="i1", value=12.0),
            Event("x5", "c2", "impression", 100.0, item_id="i3", context={"model_version": "v2"}),
            Event("x6", "c2", "purchase", 100.0 + 30 * 86400, item_id="i3"),  # outside the window
        ],
    )
    assert main(["report", "--tenant", "shop", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["key"]: r for r in doc["groups"]}
    assert rows["v1"]["impressions"] == 2 and rows["v1"]["clicks"] == 1
    assert rows["v1"]["ctr"]["value"] == 0.5 and rows["v1"]["conversions"] == 1
    assert rows["v1"]["ctr"]["low"] < 0.5 < rows["v1"]["ctr"]["high"]
    assert rows["v1"]["revenue"] == 12.0
    assert rows["v2"]["conversions"] == 0
    assert doc["comparisons"][0]["baseline"] == "v1"
    # the same document HTTP answers: from/to bound the impressions counted
    assert main(["report", "--tenant", "shop", "--json", "--from", "1970-01-01T00:01:45Z"]) == 0
    assert json.loads(capsys.readouterr().out)["groups"][0]["impressions"] == 0
    assert main(["report", "--tenant", "shop"]) == 0
    table = capsys.readouterr().out
    assert "50.00% [" in table and "v2 - v1: CTR" in table


def test_conversion_credits_the_latest_impression() -> None:
    events = [
        Event("a", "c", "impression", 0.0, "i", context={"model_version": "old"}),
        Event("b", "c", "impression", 50.0, "i", context={"model_version": "new"}),
        Event("p", "c", "purchase", 60.0, "i"),
    ]
    rows = {r.version: r.conversions for r in feedback_report(events)}
    assert rows == {"new": 1, "old": 0}


def test_publish_refuses_a_degenerate_validation_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATELIER_STORE", "embedded")
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    events = [
        Event(f"e{k}", f"c{k % 3}", "purchase", 1e9 + k, item_id=f"i{k % 4}") for k in range(12)
    ]
    store.add_events("tiny", events, [4.0] * len(events))
    argv = ["train", "--tenant", "tiny", "--publish", "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "degenerate" in err and "--force" in err
    assert store.active_model("tiny") is None
    assert main([*argv, "--force"]) == 0
    assert store.active_model("tiny") is not None
