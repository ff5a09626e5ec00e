"""``atelier import events FILE``: bulk-load events, each validated as ``POST /v1/events`` would.

Rows are read by :func:`events.files.read_events` (the reader ``atelier train --events`` uses
too) and stored through :func:`events.ingest.ingest` with the API's listeners. Without a mapped
``event_id`` a row's id comes from its content, so importing a file again stores only its new
rows, whatever the file is called.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from access.keys import TENANT_PATTERN
from cli.common import event_file_arguments, read_options, with_store
from store.base import Store


def register(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser("import", help="bulk import")
    isub = imp.add_subparsers(dest="import_what", required=True, metavar="WHAT")
    ev = isub.add_parser("events", help="events from CSV, CSV.gz or Parquet")
    ev.add_argument("file", type=Path)
    ev.add_argument("--tenant", required=True)
    event_file_arguments(ev, map_required=True)
    ev.add_argument("--batch-size", type=int, default=5000, help="events per store write")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(handler=with_store(import_events_command))


def import_events_command(args: argparse.Namespace, store: Store) -> int:
    from tqdm import tqdm

    from events.files import FileMapping, ReadStats, read_events
    from events.ingest import Listeners, ingest
    from insights.service import InsightsService

    if not TENANT_PATTERN.match(args.tenant):
        raise ValueError("tenant must be 1-64 characters of letters, digits, '_', '.', '-'")
    mapping = FileMapping.parse(args.mapping)
    options = read_options(args)
    store.ensure_tenant(args.tenant)
    # The API's listeners: imported purchases refresh insights rows exactly as posted ones do.
    listeners = Listeners(on_events=[InsightsService(store).on_events])
    stats = ReadStats()
    accepted = duplicates = 0
    started = time.perf_counter()
    with tqdm(unit=" rows", disable=args.quiet, smoothing=0.1) as bar:
        for batch in read_events(args.file, mapping, options, tenant=args.tenant):
            stats.add(batch)
            for start in range(0, len(batch.events), args.batch_size):
                done = ingest(
                    store, args.tenant, batch.events[start : start + args.batch_size], listeners
                )
                accepted += done.accepted
                duplicates += done.duplicates
            bar.update(batch.rows)
    elapsed = time.perf_counter() - started
    rejected = sum(stats.rejected.values())
    print(
        f"rows: {stats.rows}  accepted: {accepted}  duplicates: {duplicates}  "
        f"rejected: {rejected}  excluded: {stats.excluded}"
    )
    print(f"time: {elapsed:.1f} s  ({stats.rows / max(elapsed, 1e-9):,.0f} rows/s)")
    for reason, count in stats.rejected.most_common(5):
        print(f"  rejected {count:>7}  {reason}")
    if duplicates:
        print(
            f"atelier: warning: {duplicates} row(s) skipped as already stored (same event_id; "
            "without a mapped event_id column, same content)",
            file=sys.stderr,
        )
    return 0
