"""The ``atelier`` command: keys and bulk import (CSV, gzip, Parquet)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from access.keys import hash_key
from cli.main import main
from store.embedded import SQLiteStore
from tests.cli.files import write_as


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATELIER_STORE", "embedded")
    return tmp_path


def test_keys_create_list_revoke(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "create", "--tenant", "shop", "--scopes", "events,recommend"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    store = SQLiteStore(data_dir / "atelier.sqlite3")
    record = store.get_api_key(hash_key(secret))
    assert record is not None and record.tenant == "shop"
    assert record.scopes == {"events", "recommend"}
    assert main(["keys", "list", "--tenant", "shop"]) == 0
    listing = capsys.readouterr().out
    assert record.key_id in listing and secret not in listing
    assert main(["keys", "revoke", record.key_id]) == 0
    assert store.get_api_key(hash_key(secret)).revoked  # type: ignore[union-attr]
    assert main(["keys", "create", "--tenant", "shop", "--scopes", "events,root"]) == 2
    assert "root" in capsys.readouterr().err


CSV = """InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID
536365,85123A,6,2010-12-01 08:26:00,2.55,17850
536365,71053,6,2010-12-01 08:26:00,3.39,17850
C536379,D,-1,2010-12-01 09:41:00,27.50,14527
536380,22961,2,2010-12-01 09:41:00,1.45,
536381,POST,1,2010-12-01 09:45:00,18.0,12583
536382,22961,3,not a date,1.45,12583
"""

MAP = "customer_id=CustomerID,item_id=StockCode,quantity=Quantity,unit_price=UnitPrice,timestamp=InvoiceDate,context.invoice=InvoiceNo"


def _write(path: Path, fmt: str) -> Path:
    return write_as(path, fmt, CSV)


@pytest.mark.parametrize(
    ("fmt", "name"), [("csv", "r.csv"), ("gz", "r.csv.gz"), ("parquet", "r.parquet")]
)
def test_import_validates_like_the_api(
    data_dir: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str
) -> None:
    path = _write(data_dir / name, fmt)
    args = [
        "import",
        "events",
        str(path),
        "--tenant",
        "shop",
        "--map",
        MAP,
        "--exclude-items",
        "POST",
        "--quiet",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "accepted: 2" in out and "rejected: 3" in out and "excluded: 1" in out
    store = SQLiteStore(data_dir / "atelier.sqlite3")
    events = {e.item_id: e for e in store.customer_events("shop", "17850")}
    assert sorted(events) == ["71053", "85123A"]
    assert events["85123A"].value == pytest.approx(6 * 2.55)
    assert events["85123A"].context == {"invoice": "536365"}
    assert main(args) == 0  # re-import is idempotent
    out, err = capsys.readouterr()
    assert "accepted: 0  duplicates: 2" in out and "warning: 2 row(s)" in err
    assert store.count_events("shop") == 2


def test_import_negative_lines_as_returns(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(data_dir / "r.csv", "csv")
    assert (
        main(
            [
                "import",
                "events",
                str(path),
                "--tenant",
                "shop",
                "--map",
                MAP,
                "--negative-as-return",
                "--quiet",
            ]
        )
        == 0
    )
    store = SQLiteStore(data_dir / "atelier.sqlite3")
    returns = [e for e in store.customer_events("shop", "14527") if e.type == "return"]
    assert len(returns) == 1 and returns[0].quantity == 1 and returns[0].value == 27.5


def test_import_reports_bad_mapping(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(data_dir / "r.csv", "csv")
    assert (
        main(["import", "events", str(path), "--tenant", "shop", "--map", "item_id=StockCode"]) == 2
    )
    assert "customer_id" in capsys.readouterr().err
    assert (
        main(["import", "events", str(path), "--tenant", "shop", "--map", "customer_id=Nope"]) == 2
    )
    assert "Nope" in capsys.readouterr().err


ORDERS = """Invoice,Sku,Qty,When,Price,Customer
1,A,1,12/1/2010 8:26,2.00,c1
1,B,2,12/1/2010 8:26,3.00,c1
2,A,1,12/2/2010 10:00,2.00,c2
"""
ORDERS_MAP = (
    "customer_id=Customer,item_id=Sku,quantity=Qty,unit_price=Price,timestamp=When,"
    "context.invoice=Invoice"
)


def _import(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[str, str]:
    args = ["import", "events", str(path), "--tenant", "shop", "--map", ORDERS_MAP, "--quiet"]
    assert main([*args, *extra]) == 0
    return capsys.readouterr()


def test_a_new_export_under_the_same_name_imports_its_new_rows(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``orders.csv`` every night: rows are known by their content, not by their line number."""
    path = data_dir / "orders.csv"
    path.write_text(ORDERS)
    assert "accepted: 3  duplicates: 0" in _import(path, capsys)[0]
    path.write_text(
        ORDERS.splitlines()[0] + "\n3,C,1,12/3/2010 9:00,5.00,c3\n4,A,4,12/3/2010 9:30,2.00,c1\n"
    )
    out, err = _import(path, capsys)
    assert "accepted: 2  duplicates: 0" in out and "warning" not in err
    # A cumulative export: the old rows are recognised, the new one is stored, and a warning
    # counts the rows that were already there.
    path.write_text(ORDERS + "5,D,1,12/4/2010 9:00,9.00,c2\n")
    out, err = _import(path, capsys)
    assert "accepted: 1  duplicates: 3" in out and "warning: 3 row(s)" in err
    store = SQLiteStore(data_dir / "atelier.sqlite3")
    assert store.count_events("shop") == 6


def test_the_same_content_under_another_name_imports_nothing_new(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (data_dir / "orders.csv").write_text(ORDERS)
    _import(data_dir / "orders.csv", capsys)
    (data_dir / "orders-copy.csv.gz").write_bytes(gzip.compress(ORDERS.encode()))
    out, err = _import(data_dir / "orders-copy.csv.gz", capsys)
    assert "accepted: 0  duplicates: 3" in out and "warning: 3 row(s)" in err
    assert SQLiteStore(data_dir / "atelier.sqlite3").count_events("shop") == 3


def test_repeated_identical_lines_are_all_kept_once(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Online Retail repeats some lines verbatim: each copy is an event of its own."""
    line = ORDERS.splitlines()[1]
    path = data_dir / "orders.csv"
    path.write_text(ORDERS + "\n".join([line, line]) + "\n")
    assert "accepted: 5  duplicates: 0" in _import(path, capsys)[0]
    assert "accepted: 0  duplicates: 5" in _import(path, capsys)[0]
    events = SQLiteStore(data_dir / "atelier.sqlite3").customer_events("shop", "c1")
    assert sorted(e.item_id for e in events) == ["A", "A", "A", "B"]
    assert len({e.event_id for e in events}) == 4


def test_a_mapped_event_id_column_wins(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = data_dir / "orders.csv"
    path.write_text(
        "\n".join(
            f"{i},{line}" if i else f"Id,{line}"
            for i, line in zip(["", "L1", "L2", "L2"], ORDERS.splitlines(), strict=True)
        )
        + "\n"
    )
    out, err = _import(path, capsys, "--map", ORDERS_MAP + ",event_id=Id")
    assert "accepted: 2  duplicates: 1" in out and "warning: 1 row(s)" in err
    store = SQLiteStore(data_dir / "atelier.sqlite3")
    stored = store.customer_events("shop", "c1") + store.customer_events("shop", "c2")
    assert sorted(e.event_id for e in stored) == ["L1", "L2"]


def test_keys_list_shows_labels(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["keys", "create", "--tenant", "shop", "--scopes", "events", "--label", "pos-feed"])
        == 0
    )
    capsys.readouterr()
    assert main(["keys", "list"]) == 0
    assert "pos-feed" in capsys.readouterr().out


def test_every_job_logs_one_line_without_the_secret(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "create", "--tenant", "shop", "--scopes", "events"]) == 0
    out, err = capsys.readouterr()
    secret = out.strip().splitlines()[-1]
    jobs = [json.loads(line) for line in err.splitlines() if '"atelier.jobs"' in line]
    assert [(j["job"], j["exit_code"], j["tenant"]) for j in jobs] == [("keys create", 0, "shop")]
    assert secret not in err
    assert main(["keys", "revoke", "nope"]) == 1
    assert '"job failed"' in capsys.readouterr().err


def test_the_events_progress_bar_shows_total_percentage_and_eta(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(data_dir / "r.csv", "csv")
    assert main(["import", "events", str(path), "--tenant", "shop", "--map", MAP]) == 0
    bar = capsys.readouterr().err.replace("\r", "\n").splitlines()
    last = [line for line in bar if "rows" in line][-1]
    assert "100%" in last and "6/6" in last and "<00:00" in last  # done, of a total, ETA


def test_keys_and_imports_answer_json(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    capsys.readouterr()
    assert main(["keys", "create", "--tenant", "shop", "--scopes", "events", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["tenant"] == "shop" and made["scopes"] == ["events"] and made["key"]
    assert main(["keys", "list", "--tenant", "shop", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [k["key_id"] for k in listed] == [made["key_id"]] and "key" not in listed[0]
    assert main(["keys", "revoke", made["key_id"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"key_id": made["key_id"], "revoked": True}
    assert main(["keys", "revoke", "nope", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["revoked"] is False
    path = _write(data_dir / "r.csv", "csv")
    args = ["import", "events", str(path), "--tenant", "shop", "--map", MAP, "--json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rows"] == 6 and report["accepted"] + report["rejected"] + report["excluded"] == 6
    assert all(reason.split(":")[0] for reason in report["reasons"])


def test_a_missing_or_unreadable_file_is_named_with_the_reason(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["import", "events", "--tenant", "shop", "--map", MAP]
    assert main([*base[:2], str(data_dir / "nope.csv"), *base[2:]]) == 2
    assert f"{data_dir / 'nope.csv'}: no such file" in capsys.readouterr().err
    broken = data_dir / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    assert main([*base[:2], str(broken), *base[2:]]) == 2
    assert "broken.parquet: cannot be read as parquet" in capsys.readouterr().err
