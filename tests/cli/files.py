"""One small CSV text written as the importers read it: plain, gzip-compressed or Parquet."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_as(path: Path, fmt: str, text: str) -> Path:
    """``text`` (CSV with a header) at ``path`` as ``csv``, ``gz`` or ``parquet`` (text
    columns; an empty cell is null in Parquet)."""
    if fmt == "csv":
        path.write_text(text)
    elif fmt == "gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        lines = [r.split(",") for r in text.strip().splitlines()]
        cols = {h: [r[i] or None for r in lines[1:]] for i, h in enumerate(lines[0])}
        pq.write_table(pa.table(cols), path)
    return path
