"""Customer files (CSV, gzip-compressed CSV, Parquet) read into profiles, as the API takes them.

The reader behind ``atelier import customers``: one mapping of columns to profile fields, the
file conventions of event files (:func:`events.files.iter_batches`: CSV cells read as text,
streamed in record batches), and each row validated by
:class:`customers.schema.CustomerBatchEntry`, the validation of ``POST /v1/customers/batch``. So
a row is stored or refused exactly as the same entry of a batch; a refused row is reported by
its number (the first data row is row 1) with each field's error.

Cells: an empty cell is an absent field; ``consent.*`` cells read ``true/false``, ``yes/no``,
``1/0`` (any case) as booleans and leave anything else for the validation to refuse, naming
the field; ``attributes.NAME`` cells are kept as read (text from a CSV, typed from Parquet).

Examples
--------
>>> m = CustomerMapping.parse("customer_id=id,attributes.segment=Seg,consent.email=Mail")
>>> m.columns
['id', 'Mail', 'Seg']
>>> m.entry({"id": "c1", "Seg": "trade", "Mail": "Yes"})
{'customer_id': 'c1', 'attributes': {'segment': 'trade'}, 'consent': {'channels': {'email': True}}}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.records import CONSENT_CHANNELS, Customer
from customers.schema import CustomerBatchEntry
from events.files import count_rows as count_file_rows
from events.files import iter_batches, parse_mapping

#: Profile fields a column can be mapped to, besides ``attributes.NAME``.
MAPPABLE = (
    "customer_id",
    "account_manager",
    "consent.personalization",
    *(f"consent.{c}" for c in CONSENT_CHANNELS),
)
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


@dataclass(frozen=True)
class CustomerMapping:
    """Which column holds which profile field (``fields``) and which attribute (``attributes``)."""

    fields: Mapping[str, str]
    attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> CustomerMapping:
        """``field=Column,...`` (``attributes.NAME=Column`` too); ValueError names a bad entry."""
        return cls(*parse_mapping(text, MAPPABLE, "attributes"))

    @property
    def columns(self) -> list[str]:
        """The file columns to read, each once."""
        return list(dict.fromkeys([*self.fields.values(), *self.attributes.values()]))

    def entry(self, cells: Mapping[str, Any]) -> dict[str, Any]:
        """The batch entry of one row (``{column: cell}``; empty cells None or absent)."""
        raw: dict[str, Any] = {}
        consent: dict[str, Any] = {}
        for name, column in self.fields.items():
            value = cells.get(column)
            if value is None or value == "":
                continue
            if name.startswith("consent."):
                key = name.removeprefix("consent.")
                target = consent if key == "personalization" else consent.setdefault("channels", {})
                target[key] = _flag(value)
            else:
                raw[name] = value
        attributes = {
            key: _plain(cells[column])
            for key, column in self.attributes.items()
            if cells.get(column) is not None and cells.get(column) != ""
        }
        if attributes:
            raw["attributes"] = attributes
        if consent:
            raw["consent"] = consent
        return raw


def _flag(value: Any) -> Any:
    """A consent cell as a boolean when it reads as one; else as read (the validation refuses
    it naming the field)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return value


def _plain(value: Any) -> Any:
    """An attribute cell as JSON can hold it (Parquet dates and times as ISO 8601 text)."""
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return value


@dataclass
class RejectedRow:
    """A row the validation refused: its number (first data row 1) and ``(field, message)``s."""

    row: int
    errors: list[tuple[str, str]]


@dataclass
class CustomerFileBatch:
    """One record batch of a file: its valid profiles and its refused rows."""

    rows: int
    customers: list[Customer]
    rejected: list[RejectedRow]


def count_rows(path: str | Path, mapping: CustomerMapping) -> int:
    """How many data rows the file holds, for a progress bar with a total."""
    return count_file_rows(path, mapping.fields["customer_id"])


def _errors(exc: ValidationError) -> list[tuple[str, str]]:
    return [(".".join(map(str, e["loc"])) or "customer", e["msg"]) for e in exc.errors()]


def read_customers(
    path: str | Path, mapping: CustomerMapping, *, block_rows: int = 65_536
) -> Iterator[CustomerFileBatch]:
    """The file's profiles batch by batch, each row validated as a batch entry would be."""
    validate = CustomerBatchEntry.model_validate
    row = 0
    for batch in iter_batches(Path(path), mapping.columns, block_rows):
        customers: list[Customer] = []
        rejected: list[RejectedRow] = []
        for cells in batch.to_pylist():
            row += 1
            try:
                entry = validate(mapping.entry(cells))
            except ValidationError as exc:
                rejected.append(RejectedRow(row, _errors(exc)))
                continue
            customers.append(entry.to_record(entry.customer_id))
        yield CustomerFileBatch(batch.num_rows, customers, rejected)
