"""Loaders for the public data sets in ``../shared/data``, cleaned as its README says.

Benchmarks and quality checks read real data through these functions so that every job cleans it
the same way. Each loader returns an :class:`~core.records.EventFrame`.

Examples
--------
>>> frame = online_retail()                      # doctest: +SKIP
>>> len(frame)                                   # doctest: +SKIP
396370
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.records import EventFrame

#: StockCodes of the Online Retail file that are fees, postage or adjustments, not products.
ONLINE_RETAIL_NON_PRODUCTS: frozenset[str] = frozenset(
    {"POST", "DOT", "M", "D", "C2", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS", "S", "B"}
)


@dataclass(frozen=True)
class DatasetProtocol:
    """How a data set is evaluated unless told otherwise (the README's and the benchmarks')."""

    protocol: str
    #: Temporal protocol: first test day and end of the test window (exclusive), YYYY-MM-DD.
    cut: str | None = None
    end: str | None = None


#: ``atelier evaluate --dataset NAME`` defaults: ML-100K by Microsoft Recommenders' random
#: stratified split; Online Retail trained before 2011-11-09 and tested on the month after.
PROTOCOLS: dict[str, DatasetProtocol] = {
    "ml-100k": DatasetProtocol("ms"),
    "online-retail": DatasetProtocol("temporal", "2011-11-09", "2011-12-09"),
}


def load(name: str, data_dir: Path | None = None) -> EventFrame:
    """The data set ``name`` (a key of :data:`PROTOCOLS`) from ``data_dir`` (default
    :func:`shared_data_dir`), laid out as ``../shared/data`` is."""
    root = data_dir or shared_data_dir()
    if name == "ml-100k":
        return movielens_100k(root / "ml-100k" / "u.data")
    if name == "online-retail":
        return online_retail(root / "online-retail" / "online_retail.csv.gz")
    raise ValueError(f"unknown data set {name!r}; known: {', '.join(PROTOCOLS)}")


def shared_data_dir() -> Path:
    """``../shared/data`` relative to the project root, or ``$ATELIER_SHARED_DATA``."""
    env = os.environ.get("ATELIER_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def online_retail(path: Path | None = None) -> EventFrame:
    """UCI Online Retail purchase lines, cleaned.

    Drops cancellations (invoices starting with ``C``), lines without a customer, non-product
    stock codes, and lines with a non-positive quantity or unit price. ``value`` is the line's
    revenue (quantity x unit price).
    """
    path = path or shared_data_dir() / "online-retail" / "online_retail.csv.gz"
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={
                "InvoiceNo": pa.string(),
                "StockCode": pa.string(),
                "CustomerID": pa.string(),
                "InvoiceDate": pa.timestamp("s"),
                "Quantity": pa.float64(),
                "UnitPrice": pa.float64(),
            },
            timestamp_parsers=["%Y-%m-%d %H:%M:%S", "%m/%d/%Y %H:%M"],
            strings_can_be_null=True,
            include_columns=[
                "InvoiceNo",
                "StockCode",
                "Quantity",
                "InvoiceDate",
                "UnitPrice",
                "CustomerID",
            ],
        ),
    )
    invoice = table["InvoiceNo"]
    stock = pc.utf8_upper(table["StockCode"])
    cust = table["CustomerID"]
    qty = table["Quantity"]
    price = table["UnitPrice"]
    keep = pc.and_(
        pc.and_(pc.invert(pc.starts_with(invoice, "C")), pc.is_valid(cust)),
        pc.and_(pc.greater(qty, 0), pc.greater(price, 0)),
    )
    keep = pc.and_(keep, pc.invert(pc.is_in(stock, pa.array(sorted(ONLINE_RETAIL_NON_PRODUCTS)))))
    table = table.filter(pc.fill_null(keep, False))
    # CustomerID is "17850" or "17850.0" depending on the export; normalise to the integer text.
    cust_ids = np.array([c.split(".")[0] for c in table["CustomerID"].to_pylist()], dtype=object)
    items = np.array(pc.utf8_upper(table["StockCode"]).to_pylist(), dtype=object)
    ts = table["InvoiceDate"].cast(pa.int64()).to_numpy().astype(np.float64)
    q = table["Quantity"].to_numpy()
    v = q * table["UnitPrice"].to_numpy()
    types = np.full(len(ts), "purchase", dtype=object)
    return EventFrame(cust_ids, items, types, ts, q.astype(np.float64), v.astype(np.float64))


def movielens_100k(path: Path | None = None) -> EventFrame:
    """MovieLens 100K ratings as ``rating`` events (``value`` is the 1-5 star rating)."""
    path = path or shared_data_dir() / "ml-100k" / "u.data"
    raw = np.loadtxt(path, dtype=np.int64)
    n = raw.shape[0]
    return EventFrame(
        customer_id=raw[:, 0].astype(str).astype(object),
        item_id=raw[:, 1].astype(str).astype(object),
        type=np.full(n, "rating", dtype=object),
        timestamp=raw[:, 3].astype(np.float64),
        quantity=np.full(n, np.nan),
        value=raw[:, 2].astype(np.float64),
    )


def movielens_latest_small(path: Path | None = None) -> EventFrame:
    """MovieLens latest-small ratings as ``rating`` events (``value``: 0.5-5 stars), file order."""
    path = path or shared_data_dir() / "ml-latest-small" / "ratings.csv"
    table = pacsv.read_csv(
        path,
        convert_options=pacsv.ConvertOptions(
            column_types={"userId": pa.string(), "movieId": pa.string(), "rating": pa.float64()}
        ),
    )
    n = table.num_rows
    return EventFrame(
        customer_id=np.array(table["userId"].to_pylist(), dtype=object),
        item_id=np.array(table["movieId"].to_pylist(), dtype=object),
        type=np.full(n, "rating", dtype=object),
        timestamp=table["timestamp"].to_numpy().astype(np.float64),
        quantity=np.full(n, np.nan),
        value=table["rating"].to_numpy().astype(np.float64),
    )


def cdnow(sample: bool = True, path: Path | None = None) -> EventFrame:
    """CDNOW purchases (``quantity`` = CDs, ``value`` = dollars); the 1/10 sample by default.

    Timestamps are midnight UTC of the purchase day. Customer ids keep their zero-padded text.
    """
    name = "CDNOW_sample.txt" if sample else "CDNOW_master.txt"
    path = path or shared_data_dir() / "cdnow" / name
    cust: list[str] = []
    ts: list[float] = []
    qty: list[float] = []
    val: list[float] = []
    offset = 1 if sample else 0  # the sample carries an extra sample-id column
    with open(path, encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if not parts:
                continue
            cust.append(parts[0])
            d = parts[1 + offset]
            ts.append(datetime(int(d[:4]), int(d[4:6]), int(d[6:8]), tzinfo=UTC).timestamp())
            qty.append(float(parts[2 + offset]))
            val.append(float(parts[3 + offset]))
    n = len(cust)
    return EventFrame(
        customer_id=np.array(cust, dtype=object),
        item_id=np.full(n, "", dtype=object),
        type=np.full(n, "purchase", dtype=object),
        timestamp=np.array(ts),
        quantity=np.array(qty),
        value=np.array(val),
    )
