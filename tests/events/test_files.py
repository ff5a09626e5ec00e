"""One reader for event files: ``atelier import events`` and ``atelier train --events`` see the
same events, row for row, from CSV, gzip CSV and Parquet files in Online Retail's style."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli.main import main
from core.records import EventFrame
from events.files import FileMapping, ReadOptions, content_id, read_events, read_frame
from settings import Settings
from store import open_configured_store

HEADER = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
LINES = [
    ["536365", "85123A", "6", "12/1/2010 8:26", "2.55", "17850"],
    ["536365", "71053", "6", "12/1/2010 8:26", "3.39", "17850"],
    ["536365", "71053", "6", "12/1/2010 8:26", "3.39", "17850"],  # a genuinely repeated line
    ["C536379", "22960", "-2", "12/1/2010 9:41", "4.25", "14527"],  # a cancellation
    ["536380", "22961", "2", "12/1/2010 9:41", "1.45", ""],  # no customer
    ["536381", "22632", "1", "12/10/2010 14:03", "2.10", "12583"],
    ["536382", "22961", "3", "not a date", "1.45", "12583"],
    ["536383", "84029G", "4", "2010-12-02T17:05:00+01:00", "3.39", "12583"],
    ["536384", "84029E", "2", "1291310700", "3.39", "13047"],
    ["536385", "22752", "100001", "12/2/2010 9:00", "7.65", "13047"],  # implausible quantity
    ["536386", "POST", "1", "12/2/2010 9:05", "18.00", "13047"],  # postage, not a product
]
MAP = (
    "customer_id=CustomerID,item_id=StockCode,quantity=Quantity,unit_price=UnitPrice,"
    "timestamp=InvoiceDate,context.invoice=InvoiceNo"
)


def write(path: Path, lines: list[list[str]] = LINES) -> Path:
    """The lines as CSV, gzip CSV or Parquet (typed quantity and price, null customers)."""
    if path.suffix == ".parquet":
        cols = {h: [line[i] for line in lines] for i, h in enumerate(HEADER)}
        table = pa.table(
            {
                **cols,
                "Quantity": pa.array([int(q) for q in cols["Quantity"]], pa.int64()),
                "UnitPrice": pa.array([float(p) for p in cols["UnitPrice"]]),
                "CustomerID": pa.array([c or None for c in cols["CustomerID"]], pa.string()),
            }
        )
        pq.write_table(table, path)
        return path
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([HEADER, *lines])
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ATELIER_STORE", "embedded")
    return tmp_path


def rows_of(frame: EventFrame) -> list[tuple[object, ...]]:
    """The frame's events as sorted (customer, item, type, timestamp, quantity, value) tuples."""
    return sorted(
        zip(
            frame.customer_id.tolist(),
            frame.item_id.tolist(),
            frame.type.tolist(),
            frame.timestamp.tolist(),
            frame.quantity.tolist(),
            frame.value.tolist(),
            strict=True,
        )
    )


def imported(path: Path, *flags: str) -> EventFrame:
    """The events ``atelier import events`` stores from ``path`` (into a fresh tenant)."""
    tenant = f"t{abs(hash((path.name, flags))) % 10**8}"
    args = ["import", "events", str(path), "--tenant", tenant, "--map", MAP, "--quiet", *flags]
    assert main(args) == 0
    store = open_configured_store(Settings())
    try:
        return store.events_frame(tenant)
    finally:
        store.close()


@pytest.mark.parametrize("name", ["orders.csv", "orders.csv.gz", "orders.parquet"])
@pytest.mark.parametrize("negative_as_return", [False, True])
def test_import_and_train_read_the_same_events(
    data_dir: Path, name: str, negative_as_return: bool
) -> None:
    path = write(data_dir / name)
    flags = ["--exclude-items", "POST"] + (["--negative-as-return"] * negative_as_return)
    options = ReadOptions(negative_as_return=negative_as_return, exclude_items=frozenset({"POST"}))
    frame, stats = read_frame(path, FileMapping.parse(MAP), options)
    assert rows_of(imported(path, *flags)) == rows_of(frame)
    # What both agree on: the repeated line twice, dates of every format, |quantity| x price.
    t0 = datetime(2010, 12, 1, 8, 26, tzinfo=UTC).timestamp()
    assert rows_of(frame)[-3:] == [
        ("17850", "71053", "purchase", t0, 6.0, 6 * 3.39),
        ("17850", "71053", "purchase", t0, 6.0, 6 * 3.39),
        ("17850", "85123A", "purchase", t0, 6.0, 6 * 2.55),
    ]
    by_item = dict(zip(frame.item_id.tolist(), frame.timestamp.tolist(), strict=True))
    assert by_item["84029G"] == datetime(2010, 12, 2, 16, 5, tzinfo=UTC).timestamp()
    assert by_item["84029E"] == 1291310700.0
    assert by_item["22632"] == datetime(2010, 12, 10, 14, 3, tzinfo=UTC).timestamp()
    returns = frame.select(frame.type == "return")
    assert rows_of(returns) == (
        [("14527", "22960", "return", by_item["22960"], 2.0, 2 * 4.25)]
        if negative_as_return
        else []
    )
    assert stats.rows == len(LINES) and stats.excluded == 1
    assert stats.valid == len(frame) == 6 + negative_as_return
    assert sum(stats.rejected.values()) == 4 - negative_as_return
    assert stats.rejected["customer_id: Field required"] == 1
    assert stats.rejected["quantity: Value error, quantity above 100000 is implausible"] == 1


def test_rows_without_customer_type_or_timestamp(tmp_path: Path) -> None:
    """An empty type is the default type; an empty timestamp is the time of the read."""
    path = tmp_path / "e.csv"
    path.write_text("who,what,kind,when\nc1,i1,,\nc2,i2,view,2011-01-01\n,i3,view,2011-01-01\n")
    mapping = FileMapping.parse("customer_id=who,item_id=what,type=kind,timestamp=when")
    before = datetime.now(UTC).timestamp()
    (batch,) = read_events(path, mapping, ReadOptions(default_type="add_to_cart"))
    assert [(e.customer_id, e.type) for e in batch.events] == [
        ("c1", "add_to_cart"),
        ("c2", "view"),
    ]
    assert batch.events[0].timestamp >= before - 1
    assert dict(batch.rejected) == {"customer_id: Field required": 1}


def test_content_ids_do_not_depend_on_the_file_format(tmp_path: Path) -> None:
    mapping = FileMapping.parse(MAP)
    ids = [
        sorted(
            e.event_id
            for b in read_events(write(tmp_path / n), mapping, tenant="s")
            for e in b.events
        )
        for n in ("a.csv", "b.parquet")
    ]
    assert ids[0] == ids[1] and len(set(ids[0])) == len(ids[0]) == 7
    other_tenant = {
        e.event_id for b in read_events(tmp_path / "a.csv", mapping, tenant="x") for e in b.events
    }
    assert other_tenant.isdisjoint(ids[0])
    raw = {"customer_id": "c1", "item_id": "i1", "type": "purchase"}
    assert content_id("s", raw, 0) != content_id("s", raw, 1) == content_id("s", dict(raw), 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("item_id=StockCode", "must map customer_id"),
        ("customer_id=CustomerID,colour=Colour", "unknown"),
        ("customer_id", "not field=Column"),
    ],
)
def test_bad_mappings_are_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FileMapping.parse(text)


def test_missing_columns_and_formats_are_named(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv")
    with pytest.raises(ValueError, match="Nope"):
        next(read_events(path, FileMapping.parse("customer_id=Nope")))
    (tmp_path / "a.xlsx").write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"expected \.csv"):
        next(read_events(tmp_path / "a.xlsx", FileMapping.parse("customer_id=C")))
    with pytest.raises(FileNotFoundError):
        next(read_events(tmp_path / "gone.csv", FileMapping.parse("customer_id=C")))


def test_a_repeated_mapped_event_id_counts_once_both_ways(data_dir: Path) -> None:
    path = data_dir / "ids.csv"
    path.write_text("id,who,what\ne1,c1,i1\ne1,c1,i2\ne2,c2,i1\n")
    mapping = "event_id=id,customer_id=who,item_id=what"
    frame, stats = read_frame(path, FileMapping.parse(mapping))
    args = ["import", "events", str(path), "--tenant", "ids", "--map", mapping, "--quiet"]
    assert main(args) == 0
    store = open_configured_store(Settings())
    try:
        stored = store.events_frame("ids")
    finally:
        store.close()
    # Without timestamps both happened "now", each at the moment of its own read.
    assert sorted(zip(stored.customer_id, stored.item_id, strict=True)) == [
        ("c1", "i1"),
        ("c2", "i1"),
    ]
    assert sorted(zip(frame.customer_id, frame.item_id, strict=True)) == [
        ("c1", "i1"),
        ("c2", "i1"),
    ]
    assert stats.valid == 3
