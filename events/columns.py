"""File columns to event field values, vectorised: text, numbers and timestamps.

Each function turns one Arrow column into a list of Python values, one per row: the parsed value
where the cell is understood, ``None`` where it is empty, and the cell's text where it is not
understood. The text is kept so that the event validation (:class:`events.schema.EventCreate`)
rejects the row naming the field, exactly as it would reject the same value posted over HTTP.

Timestamps are POSIX seconds from numbers, from ISO 8601 (date, or date and time with optional
fraction and offset; no offset means UTC), from ``M/D/YYYY H:MM[:SS]`` (Online Retail's export,
one- or two-digit month, day and hour) or from typed timestamp and date columns (Parquet).

Examples
--------
>>> import pyarrow as pa
>>> timestamps(pa.array(["2010-12-01 08:26:00", "12/1/2010 8:26", "1291191960", "soon", None]))
[1291191960.0, 1291191960.0, 1291191960.0, 'soon', None]
>>> numbers(pa.array(["6", " -1.5 ", "", "six"]))
[6.0, -1.5, None, 'six']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_ISO = (
    r"^(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?P<f>\.\d+)?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_US = (
    r"^(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})"
    r"(?: (?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?)?$"
)
_DAY = 86400.0


def _trimmed(col: pa.Array) -> pa.Array:
    """The column as text without surrounding blanks; empty cells become null."""
    text = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def text(col: pa.Array) -> list[str | None]:
    """Cells as text (identifiers keep their leading zeros); empty cells are None."""
    values = pc.cast(col, pa.string())
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values).to_pylist()


def _merge(parsed: np.ndarray, ok: np.ndarray, cells: pa.Array) -> list[Any]:
    """Parsed floats where ``ok``, the cell itself (text or None) elsewhere."""
    out: list[Any] = parsed.tolist()
    bad = np.flatnonzero(~ok)
    for i, cell in zip(bad.tolist(), cells.take(pa.array(bad)).to_pylist(), strict=True):
        out[i] = cell
    return out


def numbers(col: pa.Array) -> list[float | str | None]:
    """Cells as floats; text that is not a plain decimal number is kept for the validator."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return pc.cast(col, pa.float64()).to_pylist()
    cells = _trimmed(col)
    ok = pc.fill_null(pc.match_substring_regex(cells, _NUMBER), False)
    parsed = pc.cast(pc.if_else(ok, cells, pa.scalar(None, pa.string())), pa.float64())
    return _merge(parsed.to_numpy(zero_copy_only=False), ok.to_numpy(zero_copy_only=False), cells)


def _ints(parts: pa.StructArray, name: str, default: int = 0) -> np.ndarray:
    field = parts.field(name)
    filled = pc.if_else(pc.equal(field, ""), str(default), field)
    return np.asarray(pc.cast(filled, pa.int64()).to_numpy(zero_copy_only=False))


def _offsets(zones: pa.Array) -> np.ndarray:
    """Seconds east of UTC of ``Z`` / ``+HH`` / ``+HH:MM`` / ``+HHMM`` ("" is UTC)."""
    digits = pc.replace_substring(pc.replace_substring(zones, "Z", ""), ":", "")
    sign = np.where(np.asarray(pc.starts_with(digits, "-").to_numpy(zero_copy_only=False)), -1, 1)
    hours = pc.utf8_slice_codeunits(digits, 1, 3)
    minutes = pc.utf8_slice_codeunits(digits, 3, 5)
    h = np.asarray(pc.cast(pc.if_else(pc.equal(hours, ""), "0", hours), pa.int64()))
    m = np.asarray(pc.cast(pc.if_else(pc.equal(minutes, ""), "0", minutes), pa.int64()))
    return np.asarray(sign * (h * 3600 + m * 60))


def _civil(cells: pa.Array, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """(POSIX seconds, matched) of the cells matching ``pattern``'s named date-time groups.

    A match with an impossible date or time (February 30th, 25:00) is not a match.
    """
    parts = pc.extract_regex(pc.fill_null(cells, ""), pattern)
    matched = np.asarray(parts.is_valid().to_numpy(zero_copy_only=False))
    n = len(cells)
    if not matched.any():
        return np.zeros(n), matched
    y, mo, d = _ints(parts, "y", 1970), _ints(parts, "mo", 1), _ints(parts, "d", 1)
    h, mi, s = _ints(parts, "h"), _ints(parts, "mi"), _ints(parts, "s")
    names = {parts.type.field(i).name for i in range(parts.type.num_fields)}
    frac = np.zeros(n)
    if "f" in names:
        f = parts.field("f")
        frac = np.asarray(pc.cast(pc.binary_join_element_wise("0", f, ""), pa.float64()))
    offset = _offsets(parts.field("tz")) if "tz" in names else np.zeros(n, dtype=np.int64)
    valid = matched & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31) & (h < 24) & (mi < 60)
    valid &= s < 60
    month = (np.where(valid, y, 1970) - 1970) * 12 + np.where(valid, mo, 1) - 1
    first = month.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    nxt = (month + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    valid &= d <= nxt - first
    seconds = (first + d - 1) * _DAY + h * 3600 + mi * 60 + s + frac - offset
    return np.where(valid, seconds, 0.0), valid


def _text_timestamps(cells: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(POSIX seconds, parsed) of trimmed text cells: numbers, ISO 8601, then Online Retail's."""
    number = np.asarray(
        pc.fill_null(pc.match_substring_regex(cells, _NUMBER), False).to_numpy(zero_copy_only=False)
    )
    parsed = np.asarray(
        pc.cast(pc.if_else(number, cells, pa.scalar(None, pa.string())), pa.float64()).to_numpy(
            zero_copy_only=False
        )
    )
    ok = number.copy()
    for pattern in (_ISO, _US):
        if ok.all():
            break
        seconds, matched = _civil(cells, pattern)
        fresh = matched & ~ok
        parsed = np.where(fresh, seconds, parsed)
        ok |= fresh
    return parsed, ok


def timestamps(col: pa.Array) -> list[float | str | None]:
    """Cells as POSIX seconds (UTC); text in another format is kept for the validator."""
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        micros = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
        return [None if v is None else v / 1e6 for v in micros.to_pylist()]
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        return pc.cast(col, pa.float64()).to_pylist()
    cells = _trimmed(col)
    parsed, ok = _text_timestamps(cells)
    return _merge(parsed, ok, cells)


def _present(col: pa.Array) -> np.ndarray:
    return np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _floats(col: pa.Array) -> np.ndarray:
    return np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)


def number_array(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(values, understood)`` of :func:`numbers` as arrays: finite numbers, NaN for empty or
    not understood cells; ``understood`` is False where :func:`numbers` keeps the cell for the
    validator (text that is not a number, NaN or an infinity, which it rejects).

    >>> number_array(pa.array(["6", "", "six", "1e999"]))[1].tolist()
    [True, True, False, False]
    """
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        values, present = _floats(col), _present(col)
    else:
        cells = _trimmed(col)
        present = _present(cells)
        ok = np.asarray(
            pc.fill_null(pc.match_substring_regex(cells, _NUMBER), False).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
        values = _floats(pc.if_else(pa.array(ok), cells, pa.scalar(None, pa.string())))
        values = np.where(ok, values, np.inf)  # text that is no number: not understood
    finite = np.isfinite(np.where(present, values, 0.0))
    return np.where(present & finite, values, np.nan), ~present | finite


def timestamp_array(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """``(seconds, understood)`` of :func:`timestamps` as arrays: NaN for empty or not
    understood cells; ``understood`` is False where :func:`timestamps` keeps the cell (text in
    another format, NaN or an infinity).

    >>> timestamp_array(pa.array(["12/1/2010 8:26", None, "soon"]))
    (array([1.29119196e+09,            nan,            nan]), array([ True,  True, False]))
    """
    if pa.types.is_timestamp(col.type) or pa.types.is_date(col.type):
        micros = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
        return _floats(micros) / 1e6, np.ones(len(col), dtype=bool)
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        values, present = _floats(col), _present(col)
    else:
        cells = _trimmed(col)
        present = _present(cells)
        parsed, ok = _text_timestamps(cells)
        values = np.where(ok, parsed, np.inf)
    finite = np.isfinite(np.where(present, values, 0.0))
    return np.where(present & finite, values, np.nan), ~present | finite
