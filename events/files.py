"""Event files (CSV, gzip-compressed CSV, Parquet) read into events, as the API would take them.

The one reader behind ``atelier import events`` (which stores the events through
:func:`events.ingest.ingest`) and ``atelier train --events`` / ``atelier evaluate --events``
(which learn from them): one mapping of columns to fields, one parsing of cells
(:mod:`events.columns`), one set of file conventions, and each row validated by
:class:`events.schema.EventCreate`, the validation of ``POST /v1/events``. So training on a file
sees exactly the events importing it would store. It belongs to the event stream because a file
is one more way in for events.

File conventions, the same for every command:

* ``unit_price`` gives ``value = |quantity| x unit_price`` (quantity 1 when absent) unless
  ``value`` is mapped; ``context.NAME`` puts a column into the event's context.
* An empty ``type`` (or none mapped) is ``default_type``; an empty cell is an absent field, so a
  row without a customer is rejected (``customer_id: Field required``) like such a posted event.
* ``negative_as_return`` turns a purchase line with a negative quantity into a return (Online
  Retail's cancellations); ``exclude_items`` drops lines that are not products (fees, postage).
* Without a mapped ``event_id``, a row's id is a hash of its tenant and content (customer, item,
  type, timestamp, quantity, value, context): a new export under an old name imports its new rows,
  a copy under a new name imports nothing new. The n-th identical row of a file gets the n-th
  id of that content, so genuinely repeated lines are all kept, and again only once on re-import.

Files are streamed in record batches, so a file larger than memory can be read (the occurrence
count of each distinct row content is the one thing kept across batches: 16 bytes a row).

Examples
--------
>>> mapping = FileMapping.parse("customer_id=CustomerID,item_id=StockCode,context.invoice=No")
>>> mapping.columns
['CustomerID', 'StockCode', 'No']
>>> content_id("shop", {"customer_id": "c1", "item_id": "i1", "type": "purchase"}, 0)
'imp-856ddd76ff7a04b0d6e850b0'
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import ValidationError

from core.fields import error_loc
from core.records import Event, EventFrame
from events.columns import numbers, text, timestamps
from events.schema import DEFAULT_MAX_FUTURE_S, EventCreate

#: Event fields a file column can be mapped to (besides ``context.NAME``).
MAPPABLE = (
    "event_id",
    "customer_id",
    "item_id",
    "type",
    "quantity",
    "value",
    "unit_price",
    "timestamp",
)


def parse_mapping(
    text: str, mappable: tuple[str, ...], nested: str
) -> tuple[dict[str, str], dict[str, str]]:
    """``--map field=Column,...`` as ``(fields, {NAME: Column} of each nested.NAME=Column)``;
    ValueError names a bad entry, and a mapping without ``customer_id``. The one syntax of the
    file importers (events, customers).

    >>> parse_mapping("customer_id=Id,context.shop=Store", ("customer_id",), "context")
    ({'customer_id': 'Id'}, {'shop': 'Store'})
    """
    fields: dict[str, str] = {}
    named: dict[str, str] = {}
    prefix = nested + "."
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = (s.strip() for s in part.partition("="))
        if not sep or not column:
            raise ValueError(f"--map entry {part!r} is not field=Column")
        if name.startswith(prefix) and len(name) > len(prefix):
            named[name[len(prefix) :]] = column
        elif name in mappable:
            fields[name] = column
        else:
            raise ValueError(
                f"--map field {name!r} unknown; use {', '.join(mappable)} or {nested}.NAME"
            )
    if "customer_id" not in fields:
        raise ValueError("--map must map customer_id")
    return fields, named


@dataclass(frozen=True)
class FileMapping:
    """Which column holds which event field (``fields``) and which context entry (``context``)."""

    fields: Mapping[str, str]
    context: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> FileMapping:
        """``field=Column,...`` (``context.NAME=Column`` too); ValueError names a bad entry."""
        return cls(*parse_mapping(text, MAPPABLE, "context"))

    @property
    def columns(self) -> list[str]:
        """The file columns to read, each once."""
        return list(dict.fromkeys([*self.fields.values(), *self.context.values()]))


@dataclass(frozen=True)
class ReadOptions:
    """The file conventions of one read (see the module docstring)."""

    default_type: str = "purchase"
    negative_as_return: bool = False
    exclude_items: frozenset[str] = frozenset()
    #: How far ahead of now a timestamp may be (``ATELIER_MAX_FUTURE_SKEW_S`` for the API's).
    max_future_s: float = DEFAULT_MAX_FUTURE_S


@dataclass
class FileBatch:
    """One record batch of a file: its valid events, and what happened to the other rows."""

    rows: int
    events: list[Event]
    #: ``"field: message"`` of each rejected row's first error -> rows.
    rejected: Counter[str]
    excluded: int


@dataclass
class ReadStats:
    """Totals over the batches of a file."""

    rows: int = 0
    valid: int = 0
    excluded: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def add(self, batch: FileBatch) -> None:
        self.rows += batch.rows
        self.valid += len(batch.events)
        self.excluded += batch.excluded
        self.rejected.update(batch.rejected)


def file_format(path: Path) -> str:
    """``"csv"`` or ``"parquet"`` from the file name (CSV may be gzip-compressed or a TSV)."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz")):
        return "csv"
    raise ValueError(f"{path.name}: expected .csv, .csv.gz or .parquet")


def iter_batches(
    path: Path, columns: list[str], block_rows: int = 65_536
) -> Iterator[pa.RecordBatch]:
    """Stream the named columns as record batches; CSV cells are read as text."""
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        yield from _read(path, columns, block_rows)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, EOFError) as exc:
        # pyarrow's messages name no file: say which one, and why it cannot be read.
        raise ValueError(f"{path.name}: cannot be read as {file_format(path)}: {exc}") from None


def _read(path: Path, columns: list[str], block_rows: int) -> Iterator[pa.RecordBatch]:
    if file_format(path) == "parquet":
        parquet = pq.ParquetFile(path)
        _check_columns(path, columns, parquet.schema_arrow.names)
        yield from parquet.iter_batches(batch_size=block_rows, columns=columns)
        return
    parse = pacsv.ParseOptions(delimiter="\t" if ".tsv" in path.name.lower() else ",")
    _check_columns(path, columns, pacsv.open_csv(path, parse_options=parse).schema.names)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=8 << 20),
        parse_options=parse,
        convert_options=pacsv.ConvertOptions(
            include_columns=columns,
            # Every column as text: ids such as "017" keep their zeros, and the cell parsers
            # (then the event validation) decide what a number or a timestamp is.
            column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=True,
        ),
    )
    yield from reader


def count_rows(path: str | Path, column: str) -> int:
    """How many data rows the file holds (Parquet: from its metadata; CSV: one pass over one
    column), for a progress bar with a total, a percentage and an ETA."""
    path = Path(path)
    if file_format(path) == "parquet":
        if not path.exists():
            raise FileNotFoundError(path)
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except pa.ArrowInvalid as exc:
            raise ValueError(f"{path.name}: cannot be read as parquet: {exc}") from None
    return sum(b.num_rows for b in iter_batches(path, [column]))


def _check_columns(path: Path, columns: list[str], present: list[str]) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"{path.name}: no column(s) {missing}; it has {present}")


def content_id(tenant: str, raw: Mapping[str, Any], occurrence: int = 0) -> str:
    """The event id of a row from its tenant and content, for its ``occurrence``-th copy (0 first).

    Values are taken as parsed (``"6"`` and ``6`` are one quantity), so the same line gets the
    same id from a CSV or a Parquet export.
    """
    return _occurrence_id(_content_digest(tenant, raw), occurrence)


def _content_digest(tenant: str, raw: Mapping[str, Any]) -> bytes:
    get = raw.get
    content = [  # the tenant and the mapped fields, the event id excepted
        tenant,
        get("customer_id"),
        get("item_id"),
        get("type"),
        get("timestamp"),
        get("quantity"),
        get("value"),
        get("context"),
    ]
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS, default=str)).digest()


def _occurrence_id(digest: bytes, occurrence: int) -> str:
    if occurrence:
        digest = hashlib.sha256(digest + b"#%d" % occurrence).digest()
    return "imp-" + digest.hex()[:24]


#: How each mapped field's cells are parsed (the rest are text).
_PARSERS = {"timestamp": timestamps, "quantity": numbers, "value": numbers, "unit_price": numbers}


class _Rows:
    """Mapped rows of one file, batch after batch: parsed cells, conventions, event ids."""

    def __init__(
        self, mapping: FileMapping, options: ReadOptions, tenant: str, content_ids: bool
    ) -> None:
        self.mapping = mapping
        self.options = options
        self.tenant = tenant
        self.content_ids = content_ids and "event_id" not in mapping.fields
        #: Copies seen so far of each row content (first 16 bytes of its digest).
        self._seen: Counter[bytes] = Counter()

    def of(self, batch: pa.RecordBatch) -> tuple[list[dict[str, Any]], int]:
        """The batch's rows as event dicts (field -> parsed value; empty cells left out), and
        how many rows were excluded (not products)."""
        cols = self._fields(batch)
        names = list(cols)
        contexts = self._contexts(batch)
        excluded = self.options.exclude_items
        rows: list[dict[str, Any]] = []
        skipped = 0
        for i, values in enumerate(zip(*cols.values(), strict=True)):
            raw = {n: v for n, v in zip(names, values, strict=True) if v is not None}
            if excluded and raw.get("item_id") in excluded:
                skipped += 1
                continue
            if contexts is not None and contexts[i]:
                raw["context"] = contexts[i]
            rows.append(self._with_id(raw))
        return rows, skipped

    def _fields(self, batch: pa.RecordBatch) -> dict[str, list[Any]]:
        """Field -> parsed cells, with the file conventions applied column by column."""
        cols: dict[str, list[Any]] = {
            name: _PARSERS.get(name, text)(batch.column(column))
            for name, column in self.mapping.fields.items()
        }
        default = self.options.default_type
        types = cols.get("type")
        cols["type"] = (
            [default] * batch.num_rows
            if types is None
            else [default if t is None else t for t in types]
        )
        price = cols.pop("unit_price", None)
        quantity = cols.get("quantity", [None] * batch.num_rows)
        if price is not None and "value" not in cols:
            cols["value"] = [
                None if p is None else _line_value(1.0 if q is None else q, p)
                for q, p in zip(quantity, price, strict=True)
            ]
        if self.options.negative_as_return:
            cols["type"] = [
                "return" if t == "purchase" and isinstance(q, float) and q < 0 else t
                for t, q in zip(cols["type"], quantity, strict=True)
            ]
        return cols

    def _contexts(self, batch: pa.RecordBatch) -> list[dict[str, Any]] | None:
        if not self.mapping.context:
            return None
        names = list(self.mapping.context)
        cols = [batch.column(self.mapping.context[n]).to_pylist() for n in names]
        return [
            {n: v for n, v in zip(names, values, strict=True) if v is not None and v != ""}
            for values in zip(*cols, strict=True)
        ]

    def _with_id(self, raw: dict[str, Any]) -> dict[str, Any]:
        if self.content_ids:
            digest = _content_digest(self.tenant, raw)
            key = digest[:16]
            raw["event_id"] = _occurrence_id(digest, self._seen[key])
            self._seen[key] += 1
        else:
            raw.setdefault("event_id", _UNSTORED_ID)
        return raw


#: The id of rows read by readers that never store them (``content_ids=False``).
_UNSTORED_ID = "imp-unstored"


def _line_value(quantity: Any, price: Any) -> Any:
    if isinstance(quantity, float) and isinstance(price, float):
        return abs(quantity) * price
    return price  # not numbers: left for the validator to reject with the field named


def _reason(exc: ValidationError) -> str:
    """``field: message`` of the first error, as the importer reports it."""
    err = exc.errors()[0]
    return f"{'.'.join(map(str, error_loc(err))) or 'event'}: {err['msg']}"


def read_events(
    path: str | Path,
    mapping: FileMapping,
    options: ReadOptions | None = None,
    *,
    tenant: str = "",
    content_ids: bool = True,
    block_rows: int = 65_536,
) -> Iterator[FileBatch]:
    """The file's events batch by batch, each row validated as ``POST /v1/events`` would.

    ``tenant`` scopes the content-based event ids (the importer passes the tenant it writes to);
    ``content_ids=False`` skips them for readers that never store the events. Events without a
    timestamp happened at the start of the read.
    """
    options = options or ReadOptions()
    rows = _Rows(mapping, options, tenant, content_ids)
    now = time.time()
    context = {"max_future_s": options.max_future_s}
    validate = EventCreate.model_validate
    for batch in iter_batches(Path(path), mapping.columns, block_rows):
        events: list[Event] = []
        rejected: Counter[str] = Counter()
        raws, excluded = rows.of(batch)
        for raw in raws:
            try:
                event = validate(raw, context=context)
            except ValidationError as exc:
                rejected[_reason(exc)] += 1
                continue
            events.append(event.to_record(now))
        yield FileBatch(batch.num_rows, events, rejected, excluded)


def read_frame(
    path: str | Path, mapping: FileMapping, options: ReadOptions | None = None
) -> tuple[EventFrame, ReadStats]:
    """The file's valid events as one :class:`EventFrame`: what importing it into an empty
    tenant would store (a repeated mapped ``event_id`` counts once, as the store counts it).

    Read in columns by :func:`events.batches.read_columns` (vectorised, no object per row);
    :func:`read_events` with ``content_ids=False`` gives the same events row by row.
    """
    from events.batches import read_columns

    return read_columns(path, mapping, options)
