"""The ``atelier`` command: keys and bulk import (CSV, gzip, Parquet)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from access.keys import hash_key
from cli.main import main
from store.embedded import SQLiteStore


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
    if fmt == "csv":
        path.write_text(CSV)
    elif fmt == "gz":
        path.write_bytes(gzip.compress(CSV.encode()))
    else:
        lines = [r.split(",") for r in CSV.strip().splitlines()]
        table = pa.table({h: [r[i] for r in lines[1:]] for i, h in enumerate(lines[0])})
        pq.write_table(table, path)
    return path


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
    events = store.customer_events("shop", "17850")
    assert [e.item_id for e in events] == ["85123A", "71053"]
    assert events[0].value == pytest.approx(6 * 2.55) and events[0].context == {"invoice": "536365"}
    assert main(args) == 0  # re-import is idempotent
    assert "accepted: 0  duplicates: 2" in capsys.readouterr().out
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
