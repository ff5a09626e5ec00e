"""``atelier import customers``: CSV, gzip and Parquet, the batch endpoint's validation, refused
rows reported by number, a progress bar with a total."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cli.main import main
from core.records import Customer
from customers.files import CustomerMapping, read_customers
from store.embedded import SQLiteStore
from tests.cli.files import write_as

CSV = """Id,Manager,Segment,City,Mail,Phone,Personal
c1,am-1,trade,Lyon,yes,no,true
c2,,retail,,0,1,
,am-1,retail,Paris,yes,no,true
c4,am-2,trade,Nice,perhaps,no,true
c5,am-2,,,,,FALSE
"""
MAP = (
    "customer_id=Id,account_manager=Manager,attributes.segment=Segment,attributes.city=City,"
    "consent.email=Mail,consent.phone=Phone,consent.personalization=Personal"
)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATELIER_STORE", "embedded")
    return tmp_path


def _write(path: Path, fmt: str) -> Path:
    return write_as(path, fmt, CSV)


@pytest.mark.parametrize(
    ("fmt", "name"), [("csv", "c.csv"), ("gz", "c.csv.gz"), ("parquet", "c.parquet")]
)
def test_import_stores_the_valid_rows_and_reports_the_rest_by_number(
    data_dir: Path, capsys: pytest.CaptureFixture[str], fmt: str, name: str
) -> None:
    path = _write(data_dir / name, fmt)
    args = ["import", "customers", str(path), "--tenant", "shop", "--map", MAP, "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "rows: 5  stored: 3  rejected: 2" in out
    assert "row 3: customer_id: Field required" in out
    assert "row 4: consent.channels.email: Input should be a valid boolean" in out
    store = SQLiteStore(data_dir / "atelier.sqlite3")
    c1 = store.get_customer("shop", "c1")
    assert c1 is not None
    assert c1.attributes == {"segment": "trade", "city": "Lyon"}
    assert c1.account_manager == "am-1" and c1.consent_personalization is True
    assert c1.consent_channels == {"email": True, "phone": False, "sms": False, "post": False}
    c2 = store.get_customer("shop", "c2")
    assert c2 is not None and c2.attributes == {"segment": "retail"} and c2.account_manager is None
    assert c2.consent_channels["phone"] is True and c2.consent_channels["email"] is False
    c5 = store.get_customer("shop", "c5")
    assert c5 is not None and c5.consent_personalization is False and c5.attributes == {}
    assert store.get_customer("shop", "c4") is None


def test_rows_are_refused_as_the_batch_endpoint_refuses_them(tmp_path: Path) -> None:
    """The same entries posted to ``POST /v1/customers/batch`` fail on the same fields."""
    from fastapi.testclient import TestClient

    from access.keys import create_key, parse_scopes
    from api.main import create_app
    from settings import Settings

    path = _write(tmp_path / "c.csv", "csv")
    mapping = CustomerMapping.parse(MAP)
    from_file = {
        r.row: [loc for loc, _ in r.errors]
        for b in read_customers(path, mapping)
        for r in b.rejected
    }
    table = pq.read_table(_write(tmp_path / "c.parquet", "parquet")).to_pylist()
    entries = [mapping.entry(row) for row in table]
    store = SQLiteStore(tmp_path / "api.sqlite3")
    secret = create_key(store, "shop", parse_scopes("customers"))[1]
    app = create_app(Settings(data_dir=tmp_path, rate_limit_requests=0), store)
    with TestClient(app) as client:
        r = client.post(
            "/v1/customers/batch",
            json={"customers": entries},
            headers={"Authorization": f"Bearer {secret}"},
        )
    over_http = {
        e["index"] + 1: [".".join(map(str, x["loc"])) for x in e["errors"]]
        for e in r.json()["errors"]
    }
    assert from_file == over_http == {3: ["customer_id"], 4: ["consent.channels.email"]}


def test_a_row_under_an_alias_replaces_the_merged_profile(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SQLiteStore(data_dir / "atelier.sqlite3")
    store.put_customers("shop", [Customer("c1"), Customer("old")])
    store.merge_customers("shop", "c1", ["old"])
    path = data_dir / "c.csv"
    path.write_text("Id,Segment\nold,vip\n")
    args = ["import", "customers", str(path), "--tenant", "shop", "--quiet"]
    assert main([*args, "--map", "customer_id=Id,attributes.segment=Segment"]) == 0
    c1 = store.get_customer("shop", "c1")
    assert c1 is not None and c1.attributes == {"segment": "vip"}
    assert store.get_customer("shop", "old") is None


def test_progress_bar_shows_total_percentage_and_eta(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(data_dir / "c.csv", "csv")
    assert main(["import", "customers", str(path), "--tenant", "shop", "--map", MAP]) == 0
    bar = capsys.readouterr().err.replace("\r", "\n").splitlines()
    last = [line for line in bar if "rows" in line][-1]
    assert "100%" in last and "5/5" in last and "<00:00" in last  # done, of a total, ETA


def test_bad_mapping_is_refused_naming_the_entry(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(data_dir / "c.csv", "csv")
    base = ["import", "customers", str(path), "--tenant", "shop", "--map"]
    assert main([*base, "attributes.segment=Segment"]) == 2
    assert "customer_id" in capsys.readouterr().err
    assert main([*base, "customer_id=Id,colour=Segment"]) == 2
    assert "'colour' unknown" in capsys.readouterr().err
    assert main([*base, "customer_id=Nope"]) == 2
    assert "Nope" in capsys.readouterr().err
