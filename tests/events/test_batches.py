"""The vectorised file reader agrees with ``EventCreate`` row by row, on generated files."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.records import Event, EventFrame
from events.batches import read_columns
from events.files import FileMapping, ReadOptions, ReadStats, read_events

# Cells of every kind the reader meets: valid, empty, odd text, edge numbers and dates.
IDS = st.one_of(
    st.sampled_from(["c1", "c2", "017", " c3", "x" * 128, "x" * 129, "", "é", "a\x01b", "POST"]),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
        max_size=6,
    ),
)
TYPES = st.sampled_from(
    ["", "view", "purchase", "return", "rating", "dislike", "click", "configure", "zap", " view"]
)
NUMBERS = st.one_of(
    st.sampled_from(["", "2", "-3", "0", " 4 ", "100001", "1e999", "nan", "abc", "1_000", "-0"]),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
)
DATES = st.one_of(
    st.sampled_from(
        [
            "",
            "2010-12-01 08:26:00",
            "2010-12-01T08:26:00.123456789+01:00",
            "12/1/2010 8:26",
            "2/30/2010 8:26",
            "1291191960",
            "1291191960.1234567",
            "1.7e12",
            "2e10",
            "1989-12-31",
            "2199-01-01",
            "soon",
            "2010-12-01 25:00",
        ]
    ),
    st.floats(min_value=-3e10, max_value=3e10).map(repr),
)
CONTEXT = st.sampled_from(["", "inv-1", "x" * 700, "\u00e9" * 2100])
ROW = st.tuples(
    IDS, IDS, TYPES, NUMBERS, NUMBERS, DATES, CONTEXT, st.sampled_from(["", "e1", "e2"])
)
HEADER = ["cust", "item", "type", "qty", "price", "ts", "ctx", "eid"]


def by_rows(path: Path, mapping: FileMapping, options: ReadOptions) -> tuple[EventFrame, ReadStats]:
    """The reference: every row through ``EventCreate`` (the importer's path), first of each
    mapped event id kept."""
    stats, frames, seen = ReadStats(), [], set()
    for batch in read_events(path, mapping, options, content_ids=False, block_rows=7):
        stats.add(batch)
        events: list[Event] = batch.events
        if "event_id" in mapping.fields:
            events = [e for e in events if not (e.event_id in seen or seen.add(e.event_id))]
        frames.append(EventFrame.from_events(events))
    return EventFrame.concat(frames), stats


def assert_same(path: Path, mapping: FileMapping, options: ReadOptions) -> None:
    expected, want = by_rows(path, mapping, options)
    frame, got = read_columns(path, mapping, options, block_rows=7)
    assert (got.rows, got.valid, got.excluded) == (want.rows, want.valid, want.excluded)
    assert got.rejected == want.rejected
    for name in ("customer_id", "item_id", "type"):
        assert getattr(frame, name).tolist() == getattr(expected, name).tolist(), name
    for name in ("timestamp", "quantity", "value"):
        a, b = getattr(frame, name), getattr(expected, name)
        if name == "timestamp":  # rows without a timestamp happened at each read's start
            assert np.allclose(a, b, rtol=0, atol=5.0, equal_nan=True)
        else:
            assert np.array_equal(a, b, equal_nan=True), (name, a, b)


MAPPINGS = st.sampled_from(
    [
        "customer_id=cust,item_id=item,type=type,quantity=qty,unit_price=price,timestamp=ts",
        "customer_id=cust,item_id=item,type=type,quantity=qty,value=price,timestamp=ts,"
        "context.invoice=ctx,event_id=eid",
        "customer_id=cust,item_id=item,quantity=qty,timestamp=ts",
    ]
)
OPTIONS = st.builds(
    ReadOptions,
    default_type=st.sampled_from(["purchase", "view", "rating"]),
    negative_as_return=st.booleans(),
    exclude_items=st.sampled_from([frozenset(), frozenset({"POST", "c1"})]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(ROW, min_size=1, max_size=30), mapping=MAPPINGS, options=OPTIONS)
def test_vectorised_csv_reading_agrees_with_event_create(
    rows: list[tuple[str, ...]], mapping: str, options: ReadOptions
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.csv"
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(HEADER)
            w.writerows(rows)
        assert_same(path, FileMapping.parse(mapping), options)


TYPED = st.tuples(
    st.one_of(st.none(), st.integers(-5, 5)),
    st.one_of(st.none(), st.sampled_from(["i1", "i2", "POST"])),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 3)),
    st.one_of(
        st.none(),
        st.datetimes(
            min_value=datetime(1980, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
        ),
    ),
    st.one_of(st.none(), st.floats(min_value=-3e10, max_value=3e10)),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(TYPED, min_size=1, max_size=30), options=OPTIONS, typed_time=st.booleans())
def test_vectorised_parquet_reading_agrees_with_event_create(
    rows: list[tuple[object, ...]], options: ReadOptions, typed_time: bool
) -> None:
    cust, item, qty, when, seconds = (list(c) for c in zip(*rows, strict=True))
    table = pa.table(
        {
            "cust": pa.array(cust, pa.int64()),
            "item": pa.array(item, pa.string()),
            "qty": pa.array([None if q is None else float(q) for q in qty], pa.float64()),
            "ts": pa.array(when, pa.timestamp("us", tz="UTC"))
            if typed_time
            else pa.array(seconds, pa.float64()),
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        pq.write_table(table, path)
        mapping = FileMapping.parse("customer_id=cust,item_id=item,quantity=qty,timestamp=ts")
        assert_same(path, mapping, options)


def test_online_retail_style_lines_agree(tmp_path: Path) -> None:
    from tests.events.test_files import HEADER as OR_HEADER
    from tests.events.test_files import LINES
    from tests.events.test_files import MAP as OR_MAP

    path = tmp_path / "lines.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([OR_HEADER, *LINES])
    options = ReadOptions(negative_as_return=True, exclude_items=frozenset({"POST"}))
    assert_same(path, FileMapping.parse(OR_MAP), options)
    frame, stats = read_columns(path, FileMapping.parse(OR_MAP), options)
    assert stats.excluded == 1 and sum(stats.rejected.values()) == 3
    # each distinct string exists once: the columns only point at it
    assert len({id(s) for s in frame.customer_id.tolist()}) == len(set(frame.customer_id))
