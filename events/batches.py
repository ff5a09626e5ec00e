"""Event files read straight into columns: vectorised validation, no Python object per row.

``atelier train --events`` and ``evaluate --events`` need the valid events of a file as an
:class:`~core.records.EventFrame`, not one :class:`~core.records.Event` per row. This reader
applies the file conventions of :mod:`events.files` and the rules of
:class:`events.schema.EventCreate` to whole Arrow record batches with numpy and pyarrow
compute, and builds the frame from integer codes: each distinct customer, item and type string
exists once, and the frame's object columns only point at those (8 bytes a row).

Rows the vectorised rules cannot decide exactly go through ``EventCreate`` one by one, so a file
is read exactly as importing it would validate it (a property test holds the two equal):
identifiers that are not 1-128 printable ASCII characters, an unknown type, a cell that is not a
number or a timestamp the columns understand, non-finite numbers, values outside +-1e9,
numeric timestamps that pydantic would read as milliseconds, contexts that may exceed 4 KiB,
and every other field error. Rows whose only fault is a missing customer, and rows that break a
rule of ``EventCreate``'s model validator (item required, quantity, rating, money, time
bounds), are rejected here with the same reason.

Examples
--------
>>> import pyarrow as pa
>>> from events.files import FileMapping, ReadOptions
>>> batch = pa.record_batch({"c": ["a", None, "b"], "i": ["x", "y", "z"], "q": ["2", "1", "0"]})
>>> m = FileMapping.parse("customer_id=c,item_id=i,quantity=q")
>>> cols = validate_batch(batch, m, ReadOptions(), now=1.7e9)
>>> cols.rows.tolist(), dict(cols.rejected)
([0], {'customer_id: Field required': 1, 'quantity: Value error, quantity must be positive': 1})
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from core.records import EVENT_TYPES, EventFrame
from events.columns import number_array, timestamp_array
from events.files import (
    _UNSTORED_ID,
    FileMapping,
    ReadOptions,
    ReadStats,
    _reason,
    _Rows,
    iter_batches,
)
from events.schema import EARLIEST, ITEM_REQUIRED, MAX_QUANTITY, EventCreate

#: 1-128 printable ASCII characters: an ``Identifier`` decided without Python.
_SIMPLE_ID = r"^[\x20-\x7e]{1,128}$"
_TYPE_CODE = {t: i for i, t in enumerate(EVENT_TYPES)}
_EARLIEST = EARLIEST.timestamp()
_NEEDS_ITEM = np.array([t in ITEM_REQUIRED for t in EVENT_TYPES])
#: Pydantic reads a number beyond this as milliseconds: left to it.
_SECONDS_LIMIT = 2e10


@dataclass
class BatchColumns:
    """The valid rows of one batch as columns (in file order), and what became of the others."""

    rows: np.ndarray  # row numbers within the batch (int64)
    customer_id: pa.Array  # string
    item_id: pa.Array  # string, "" for none
    type_code: np.ndarray  # int8 into EVENT_TYPES
    timestamp: np.ndarray
    quantity: np.ndarray  # NaN: none
    value: np.ndarray  # NaN: none
    event_id: pa.Array | None  # string, when mapped
    rejected: Counter[str]
    excluded: int


def _text(col: pa.Array) -> pa.Array:
    """Cells as text, empty ones null (as :func:`events.columns.text`)."""
    values = pc.cast(col, pa.string())
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _mask(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _simple(ids: pa.Array) -> np.ndarray:
    """Non-null cells that are identifiers for sure (vectorised)."""
    return _mask(pc.match_substring_regex(ids, _SIMPLE_ID))


def _context_may_exceed(batch: pa.RecordBatch, mapping: FileMapping) -> np.ndarray:
    """Rows whose context could serialise to more than 4 KiB (a bound: 6 bytes per byte)."""
    n = batch.num_rows
    if not mapping.context:
        return np.zeros(n, dtype=bool)
    bound = np.full(n, 2, dtype=np.int64)
    for name, column in mapping.context.items():
        col = batch.column(column)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            size = np.asarray(pc.fill_null(pc.binary_length(col), 0).to_numpy(zero_copy_only=False))
        else:
            size = np.full(n, 40, dtype=np.int64)
        bound += 6 * (len(name.encode()) + size) + 8
    return bound > 4096


def _datetime_seconds(ts: np.ndarray) -> np.ndarray:
    """POSIX seconds as pydantic's datetime keeps them: rounded to the microsecond."""
    whole = np.floor(ts)
    return (whole * 1e6 + np.round((ts - whole) * 1e6)) / 1e6


class _Fields:
    """The mapped fields of one batch as arrays, with the file conventions applied."""

    def __init__(self, batch: pa.RecordBatch, mapping: FileMapping, options: ReadOptions) -> None:
        n = batch.num_rows
        fields = mapping.fields
        self.unsure = np.zeros(n, dtype=bool)  # rows for EventCreate itself
        null = pa.nulls(n, pa.string())
        self.customer = _text(batch.column(fields["customer_id"]))
        self.item = _text(batch.column(fields["item_id"])) if "item_id" in fields else null
        self.event_id = _text(batch.column(fields["event_id"])) if "event_id" in fields else None
        types = _text(batch.column(fields["type"])) if "type" in fields else null
        types = pc.fill_null(types, options.default_type)
        self.quantity = self._number(batch, fields.get("quantity"), n)
        self.value = self._number(batch, fields.get("value"), n)
        price = self._number(batch, fields.get("unit_price"), n)
        if "unit_price" in fields and "value" not in fields:
            q = np.where(np.isnan(self.quantity), 1.0, self.quantity)
            self.value = np.where(np.isnan(price), np.nan, np.abs(q) * price)
        if options.negative_as_return:
            flip = _mask(pc.equal(types, "purchase")) & (self.quantity < 0)
            types = pc.if_else(pa.array(flip), "return", types)
        codes = pc.index_in(types, value_set=pa.array(EVENT_TYPES))
        self.unsure |= ~np.asarray(codes.is_valid().to_numpy(zero_copy_only=False))
        self.type_code = np.asarray(pc.fill_null(codes, 0).to_numpy(zero_copy_only=False)).astype(
            np.int8
        )
        self.timestamp = np.full(n, np.nan)
        if "timestamp" in fields:
            seconds, understood = timestamp_array(batch.column(fields["timestamp"]))
            self.unsure |= ~understood
            present = ~np.isnan(seconds)
            # beyond 2e10 pydantic reads milliseconds: its business
            self.unsure |= present & (np.abs(np.where(present, seconds, 0.0)) > _SECONDS_LIMIT)
            self.timestamp = np.where(present, _datetime_seconds(seconds), np.nan)
        given = ~np.isnan(self.value)
        self.unsure |= given & (np.abs(np.where(given, self.value, 0.0)) > 1e9)
        self.unsure |= ~np.isfinite(np.where(given, self.value, 0.0))
        self.unsure |= _context_may_exceed(batch, mapping)

    def _number(self, batch: pa.RecordBatch, column: str | None, n: int) -> np.ndarray:
        if column is None:
            return np.full(n, np.nan)
        # text that is not a number, NaN and infinities are EventCreate's to reject
        values, understood = number_array(batch.column(column))
        self.unsure |= ~understood
        return values


def _model_rules(
    f: _Fields, has_item: np.ndarray, now: float, options: ReadOptions
) -> tuple[np.ndarray, np.ndarray]:
    """(reason index per row, -1 when valid; the normalised quantity): the model validator's
    rules in its order, the first that fails naming the row."""
    n = len(f.type_code)
    reason = np.full(n, -1, dtype=np.int64)

    def fail(k: int, mask: np.ndarray) -> None:
        reason[(reason < 0) & mask] = k

    code = f.type_code
    fail(0, _NEEDS_ITEM[code] & ~has_item)
    q = f.quantity.copy()
    is_return = code == _TYPE_CODE["return"]
    q = np.where(is_return & (q < 0), -q, q)
    given = ~np.isnan(q)
    fail(1, given & (q <= 0))
    fail(2, given & (q > MAX_QUANTITY))
    v = f.value
    rating = code == _TYPE_CODE["rating"]
    fail(3, rating & np.isnan(v))
    fail(4, rating & ~np.isnan(v) & ((v < 0) | (v > 10)))
    money = (code == _TYPE_CODE["purchase"]) | is_return
    fail(5, money & ~np.isnan(v) & (v < 0))
    ts = f.timestamp
    dated = ~np.isnan(ts)
    fail(6, dated & (np.where(dated, ts, 0.0) > now + options.max_future_s))
    fail(7, dated & (np.where(dated, ts, 0.0) < _EARLIEST))
    return reason, q


def _reasons(options: ReadOptions) -> list[str]:
    """The model validator's messages as :func:`events.files._reason` reports them."""
    return [
        "item_id: Value error, item_id is required for '{type}' events",
        "quantity: Value error, quantity must be positive",
        f"quantity: Value error, quantity above {MAX_QUANTITY} is implausible",
        "value: Value error, value (the rating) is required for 'rating' events",
        "value: Value error, a rating value must lie between 0 and 10",
        "value: Value error, value (money) must not be negative",
        f"timestamp: Value error, timestamp is more than {options.max_future_s} s in the future",
        "timestamp: Value error, timestamp is before 1990",
    ]


def validate_batch(
    batch: pa.RecordBatch, mapping: FileMapping, options: ReadOptions, now: float
) -> BatchColumns:
    """The batch's valid rows as columns, validated as ``EventCreate`` would (see the module
    docstring); events without a timestamp happened ``now``."""
    f = _Fields(batch, mapping, options)
    n = batch.num_rows
    item_given = np.asarray(f.item.is_valid().to_numpy(zero_copy_only=False))
    excluded = np.zeros(n, dtype=bool)
    if options.exclude_items:
        excluded = _mask(pc.is_in(f.item, value_set=pa.array(sorted(options.exclude_items))))
    customer_given = np.asarray(f.customer.is_valid().to_numpy(zero_copy_only=False))
    unsure = f.unsure.copy()
    unsure |= customer_given & ~_simple(f.customer)
    unsure |= item_given & ~_simple(f.item)
    if f.event_id is not None:
        id_given = np.asarray(f.event_id.is_valid().to_numpy(zero_copy_only=False))
        unsure |= id_given & ~_simple(f.event_id)
    # a missing customer is the first field error unless another field is unsure
    no_customer = ~customer_given & ~unsure
    rule, quantity = _model_rules(f, item_given, now, options)
    decided = ~excluded & ~unsure
    valid = decided & customer_given & (rule < 0)
    rejected: Counter[str] = Counter()
    missing = int((decided & no_customer).sum())
    if missing:
        rejected["customer_id: Field required"] = missing
    messages = _reasons(options)
    broken = decided & customer_given & (rule >= 0)
    for k in np.unique(rule[broken]).tolist():
        rows = broken & (rule == k)
        if k == 0:  # the message names the type
            for t in np.unique(f.type_code[rows]).tolist():
                count = int((rows & (f.type_code == t)).sum())
                rejected[messages[0].format(type=EVENT_TYPES[t])] += count
        else:
            rejected[messages[k]] += int(rows.sum())
    ts = np.where(np.isnan(f.timestamp), now, _datetime_seconds(f.timestamp))
    keep = np.flatnonzero(valid)
    out = BatchColumns(
        rows=keep,
        customer_id=f.customer.take(pa.array(keep)),
        item_id=pc.fill_null(f.item, "").take(pa.array(keep)),
        type_code=f.type_code[keep],
        timestamp=ts[keep],
        quantity=quantity[keep],
        value=f.value[keep],
        event_id=None
        if f.event_id is None
        else pc.fill_null(f.event_id, _UNSTORED_ID).take(pa.array(keep)),
        rejected=rejected,
        excluded=int(excluded.sum()),
    )
    checked = np.flatnonzero(~excluded & unsure)
    if len(checked):
        _merge_checked(out, batch.take(pa.array(checked)), checked, mapping, options, now)
    return out


def _merge_checked(
    out: BatchColumns,
    rows_batch: pa.RecordBatch,
    rows: np.ndarray,
    mapping: FileMapping,
    options: ReadOptions,
    now: float,
) -> None:
    """Validate the undecided rows one by one with ``EventCreate`` and merge them in order."""
    unexcluded = replace(options, exclude_items=frozenset())  # excluded rows are not here
    raws, _ = _Rows(mapping, unexcluded, "", False).of(rows_batch)
    context = {"max_future_s": options.max_future_s}
    good: list[int] = []
    events = []
    for i, raw in zip(rows.tolist(), raws, strict=True):
        try:
            event = EventCreate.model_validate(raw, context=context)
        except ValidationError as exc:
            out.rejected[_reason(exc)] += 1
            continue
        good.append(i)
        events.append(event.to_record(now))
    if not good:
        return
    order = np.argsort(np.concatenate([out.rows, np.array(good, dtype=np.int64)]), kind="stable")
    nan = float("nan")

    def cat(a: np.ndarray, b: Sequence[float], dtype: type = np.float64) -> np.ndarray:
        return np.concatenate([a, np.array(b, dtype=dtype)])[order]

    def cat_text(a: pa.Array, b: list[str]) -> pa.Array:
        return pa.concat_arrays([a.cast(pa.string()), pa.array(b, pa.string())]).take(
            pa.array(order)
        )

    out.rows = cat(out.rows, good, np.int64)
    out.customer_id = cat_text(out.customer_id, [e.customer_id for e in events])
    out.item_id = cat_text(out.item_id, [e.item_id or "" for e in events])
    out.type_code = cat(out.type_code, [_TYPE_CODE[e.type] for e in events], np.int8)
    out.timestamp = cat(out.timestamp, [e.timestamp for e in events])
    out.quantity = cat(out.quantity, [nan if e.quantity is None else e.quantity for e in events])
    out.value = cat(out.value, [nan if e.value is None else e.value for e in events])
    if out.event_id is not None:
        out.event_id = cat_text(out.event_id, [e.event_id for e in events])


def _interned(chunks: list[pa.Array]) -> np.ndarray:
    """The rows' strings as an object array in which each distinct string exists once.

    One dictionary encoding over all the chunks (Arrow's hash table, shared across chunks):
    Python sees each distinct value once, never a row.
    """
    if not chunks:
        return np.empty(0, dtype=object)
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.string())).combine_chunks()
    vocabulary = np.empty(len(encoded.dictionary), dtype=object)
    vocabulary[:] = encoded.dictionary.to_pylist()
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
    return vocabulary[codes]


def iter_columns(
    path: str | Path,
    mapping: FileMapping,
    options: ReadOptions | None = None,
    block_rows: int = 262_144,
) -> Iterator[tuple[int, BatchColumns]]:
    """``(rows read, valid columns)`` of each record batch of the file."""
    options = options or ReadOptions()
    now = time.time()
    for batch in iter_batches(Path(path), mapping.columns, block_rows):
        yield batch.num_rows, validate_batch(batch, mapping, options, now)


def read_columns(
    path: str | Path,
    mapping: FileMapping,
    options: ReadOptions | None = None,
    block_rows: int = 262_144,
) -> tuple[EventFrame, ReadStats]:
    """The file's valid events as one :class:`EventFrame` (what :func:`events.files.read_frame`
    returns), built from codes: no Python object per row."""
    stats = ReadStats()
    text: dict[str, list[pa.Array]] = {"c": [], "i": [], "e": []}
    numbers: dict[str, list[np.ndarray]] = {"t": [], "ts": [], "q": [], "v": []}
    for rows, cols in iter_columns(path, mapping, options, block_rows):
        stats.rows += rows
        stats.valid += len(cols.rows)
        stats.excluded += cols.excluded
        stats.rejected.update(cols.rejected)
        text["c"].append(cols.customer_id)
        text["i"].append(cols.item_id)
        if cols.event_id is not None:
            text["e"].append(cols.event_id)
        for key, arr in (
            ("t", cols.type_code),
            ("ts", cols.timestamp),
            ("q", cols.quantity),
            ("v", cols.value),
        ):
            numbers[key].append(arr)

    def joined(key: str, dtype: type) -> np.ndarray:
        parts = numbers[key]
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    keep: np.ndarray | slice = slice(None)
    if "event_id" in mapping.fields and text["e"]:
        # a repeated event id counts once, as the store counts it: the first one is kept
        ids = pc.dictionary_encode(pa.chunked_array(text["e"], pa.string())).combine_chunks()
        codes = np.asarray(ids.indices.to_numpy(zero_copy_only=False))
        keep = np.sort(np.unique(codes, return_index=True)[1])
    types = np.empty(len(EVENT_TYPES), dtype=object)
    types[:] = list(EVENT_TYPES)
    frame = EventFrame(
        _interned(text["c"])[keep],
        _interned(text["i"])[keep],
        types[joined("t", np.int8)][keep],
        joined("ts", np.float64)[keep],
        joined("q", np.float64)[keep],
        joined("v", np.float64)[keep],
    )
    return frame, stats
