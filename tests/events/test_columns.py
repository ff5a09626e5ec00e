"""Cells of event files to field values: what is understood is parsed, the rest kept as text."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pyarrow as pa
import pytest

from events.columns import numbers, text, timestamps


def utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2011-12-09 12:50:00", utc(2011, 12, 9, 12, 50)),
        ("2011-12-09T12:50:00Z", utc(2011, 12, 9, 12, 50)),
        ("2011-12-09T12:50:00.25+02:00", utc(2011, 12, 9, 10, 50) + 0.25),
        ("2011-12-09T12:50:00-0530", utc(2011, 12, 9, 18, 20)),
        ("2011-12-09T12:50+01", utc(2011, 12, 9, 11, 50)),
        ("2011-12-09", utc(2011, 12, 9)),
        ("2012-02-29 00:00", utc(2012, 2, 29)),
        ("12/9/2011 8:26", utc(2011, 12, 9, 8, 26)),
        ("1/2/2011 12:05:30", utc(2011, 1, 2, 12, 5, 30)),
        ("12/09/2011", utc(2011, 12, 9)),
        ("1323435000", 1323435000.0),
        (" 1323435000.5 ", 1323435000.5),
        # Not understood: kept as text for the event validation to reject.
        ("2011-02-29 00:00:00", "2011-02-29 00:00:00"),
        ("1/2/2011 25:00", "1/2/2011 25:00"),
        ("13/2/2011 10:00", "13/2/2011 10:00"),
        ("yesterday", "yesterday"),
        ("", None),
        (None, None),
    ],
)
def test_timestamps_of_text(cell: str | None, expected: float | str | None) -> None:
    assert timestamps(pa.array([cell], pa.string())) == [expected]


def test_timestamps_of_typed_columns() -> None:
    moment = datetime(2011, 12, 9, 12, 50, 1, 500000, tzinfo=UTC)
    naive = moment.replace(tzinfo=None)
    assert timestamps(pa.array([naive, None], pa.timestamp("ns"))) == [moment.timestamp(), None]
    paris = pa.array([moment], pa.timestamp("ms", tz="Europe/Paris"))
    assert timestamps(paris) == [moment.timestamp()]
    assert timestamps(pa.array([date(2011, 12, 9)])) == [utc(2011, 12, 9)]
    assert timestamps(pa.array([1323435000, 1323435001])) == [1323435000.0, 1323435001.0]


def test_numbers_and_text() -> None:
    assert numbers(pa.array(["6", "-1", "2.55", "1e3", ".5", " 7 ", "", None, "1,5", "inf"])) == [
        6.0,
        -1.0,
        2.55,
        1000.0,
        0.5,
        7.0,
        None,
        None,
        "1,5",
        "inf",
    ]
    assert numbers(pa.array([3, None], pa.int64())) == [3.0, None]
    assert text(pa.array(["017", "", None, "a b"])) == ["017", None, None, "a b"]
    assert text(pa.array([17850, None], pa.int64())) == ["17850", None]
