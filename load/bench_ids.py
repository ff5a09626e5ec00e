"""The id lists the load scenarios draw from: files named by environment variables."""

from __future__ import annotations

import os
from pathlib import Path


def ids_from(env: str) -> list[str]:
    """The ids in the file the variable ``env`` names, one per line (``["none"]`` without it)."""
    path = os.environ.get(env)
    if not path or not Path(path).exists():
        return ["none"]
    return [line.strip() for line in Path(path).read_text().splitlines() if line.strip()]


CUSTOMERS = ids_from("ATELIER_BENCH_CUSTOMERS")
ITEMS = ids_from("ATELIER_BENCH_ITEMS")
