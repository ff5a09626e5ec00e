"""Read event files (CSV, gzip-compressed CSV, Parquet) and map their columns to event fields.

Used by ``atelier import events`` (through the same validation as ``POST /v1/events``) and by
offline jobs that train on exported files. Files are streamed in record batches, so a file larger
than memory can be imported.

Examples
--------
>>> mapping = parse_mapping("customer_id=CustomerID,item_id=StockCode,timestamp=InvoiceDate")
>>> mapping["item_id"]
'StockCode'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from core.records import EventFrame

#: Event fields a file column can be mapped to; ``unit_price`` makes ``value = quantity * price``
#: and ``context.<name>`` puts the column into the event's context.
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


def parse_mapping(text: str) -> dict[str, str]:
    """``field=Column,...`` into a dict; raises ValueError naming a bad entry."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        field, sep, column = part.partition("=")
        field, column = field.strip(), column.strip()
        if not sep or not column:
            raise ValueError(f"--map entry {part!r} is not field=Column")
        if field not in MAPPABLE and not field.startswith("context."):
            raise ValueError(
                f"--map field {field!r} unknown; use {', '.join(MAPPABLE)} or context.NAME"
            )
        mapping[field] = column
    if "customer_id" not in mapping:
        raise ValueError("--map must map customer_id")
    return mapping


def file_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz") or name.endswith(".tsv"):
        return "csv"
    raise ValueError(f"{path.name}: expected .csv, .csv.gz or .parquet")


def iter_batches(
    path: Path, columns: list[str], block_rows: int = 65_536
) -> Iterator[pa.RecordBatch]:
    """Stream the named columns as record batches; identifiers are read as text."""
    if not path.exists():
        raise FileNotFoundError(path)
    if file_format(path) == "parquet":
        parquet = pq.ParquetFile(path)
        _check_columns(path, columns, parquet.schema_arrow.names)
        yield from parquet.iter_batches(batch_size=block_rows, columns=columns)
        return
    delimiter = "\t" if path.name.endswith(".tsv") else ","
    header = pacsv.open_csv(
        path, parse_options=pacsv.ParseOptions(delimiter=delimiter)
    ).schema.names
    _check_columns(path, columns, header)
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=8 << 20),
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            include_columns=columns,
            # Every column as text: ids such as "017" keep their zeros, and the event validator
            # (not the file reader) decides what a valid number or timestamp is.
            column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=True,
        ),
    )
    yield from reader


def _check_columns(path: Path, columns: list[str], present: list[str]) -> None:
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"{path.name}: no column(s) {missing}; it has {present}")


def iter_rows(
    path: Path, mapping: dict[str, str], defaults: dict[str, Any] | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Batches of event dicts (field -> raw value) with a stable ``event_id``.

    Without a mapped ``event_id`` each row gets ``<file name>:<row number>``, so re-importing the
    same file is a no-op. ``defaults`` fills fields no column maps (e.g. ``type``).
    """
    columns = list(dict.fromkeys(mapping.values()))
    defaults = defaults or {}
    row_number = 0
    for batch in iter_batches(path, columns):
        data = {c: batch.column(c).to_pylist() for c in columns}
        out: list[dict[str, Any]] = []
        for i in range(batch.num_rows):
            row_number += 1
            raw: dict[str, Any] = dict(defaults)
            context: dict[str, Any] = {}
            for field, column in mapping.items():
                value = data[column][i]
                if value is None or value == "":
                    continue
                if field.startswith("context."):
                    context[field[8:]] = value
                else:
                    raw[field] = value
            if context:
                raw["context"] = context
            if "event_id" not in raw:
                raw["event_id"] = f"{path.name}:{row_number}"
            if "unit_price" in raw:
                price = raw.pop("unit_price")
                if "value" not in raw:
                    raw["value"] = _times(raw.get("quantity", 1), price)
            out.append(raw)
        yield out


def _times(quantity: Any, price: Any) -> Any:
    try:
        return abs(float(quantity)) * float(price)
    except (TypeError, ValueError):
        return price  # left for the validator to reject with the field named


# ---------------------------------------------------------------------------- frames
_TIME_FORMATS = (
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M",
    "%Y-%m-%dT%H:%M:%SZ",
)


def _timestamps(col: pa.Array) -> np.ndarray:
    """POSIX seconds from numbers or the usual date formats (UTC)."""
    num = pc.cast(col, pa.float64(), safe=False) if pa.types.is_floating(col.type) else None
    if num is None:
        try:
            num = pc.cast(col, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            num = None
    if num is not None:
        return np.asarray(num.to_numpy(zero_copy_only=False), dtype=np.float64)
    for fmt in _TIME_FORMATS:
        try:
            parsed = pc.strptime(col, format=fmt, unit="s", error_is_null=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        return np.asarray(
            pc.cast(parsed, pa.int64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
    raise ValueError(f"cannot parse timestamps such as {col[0]!r}; use ISO 8601 or POSIX seconds")


def frame_from_file(
    path: str | Path, mapping: Mapping[str, str], default_type: str = "purchase"
) -> EventFrame:
    """Events of a CSV / gzip CSV / Parquet file as an :class:`EventFrame` (vectorised).

    ``mapping`` maps event fields (``customer_id``, ``item_id``, ``type``, ``timestamp``,
    ``quantity``, ``value``, ``unit_price``) to column names; unmapped ``type`` is
    ``default_type``; ``unit_price`` gives ``value = quantity * unit_price``.
    """
    columns = list(dict.fromkeys(mapping.values()))
    frames = []
    for batch in iter_batches(Path(path), columns):
        n = batch.num_rows

        def col(name: str, batch: pa.RecordBatch = batch) -> pa.Array | None:
            return batch.column(mapping[name]) if name in mapping else None

        def num(name: str, n: int = n) -> np.ndarray:
            c = col(name)
            if c is None:
                return np.full(n, np.nan)
            return np.asarray(
                pc.cast(c, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
            )

        def text(name: str, default: str, n: int = n) -> np.ndarray:
            c = col(name)
            if c is None:
                return np.full(n, default, dtype=object)
            return np.array(pc.fill_null(pc.cast(c, pa.string()), "").to_pylist(), dtype=object)

        qty = num("quantity")
        value = num("value")
        if "unit_price" in mapping and "value" not in mapping:
            value = np.where(np.isnan(qty), 1.0, np.abs(qty)) * num("unit_price")
        ts_col = col("timestamp")
        ts = _timestamps(ts_col) if ts_col is not None else np.zeros(n)
        frames.append(
            EventFrame(
                text("customer_id", ""),
                text("item_id", ""),
                text("type", default_type),
                ts,
                qty,
                value,
            )
        )
    frame = EventFrame.concat(frames)
    return frame.select(frame.customer_id != "")
