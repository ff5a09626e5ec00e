"""``atelier import events FILE`` and ``atelier import customers FILE``: bulk loads, each row
validated as the API would validate it.

Events are read by :func:`events.files.read_events` (the reader ``atelier train --events`` uses
too) and stored through :func:`events.ingest.ingest` with the API's listeners. Without a mapped
``event_id`` a row's id comes from its content, so importing a file again stores only its new
rows, whatever the file is called.

Customers are read by :func:`customers.files.read_customers` (each row validated as an entry of
``POST /v1/customers/batch``) and stored through :meth:`CustomerService.put_many`, which
creates or replaces each profile (a row under an alias replaces the merged customer's) as the
batch endpoint does; refused rows are reported by number, the others stored.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from access.keys import TENANT_PATTERN
from cli.common import event_file_arguments, json_argument, print_json, read_options, with_store
from store.base import Store


def register(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser("import", help="bulk import")
    isub = imp.add_subparsers(dest="import_what", required=True, metavar="WHAT")
    ev = isub.add_parser("events", help="events from CSV, CSV.gz or Parquet")
    ev.add_argument("file", type=Path, help="the events file (.csv, .csv.gz or .parquet)")
    ev.add_argument("--tenant", required=True, help="the tenant (1-64 letters, digits, _ . -)")
    event_file_arguments(ev, map_required=True)
    ev.add_argument("--batch-size", type=int, default=5000, help="events per store write")
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    json_argument(ev)
    ev.set_defaults(handler=with_store(import_events_command))
    cu = isub.add_parser("customers", help="customer profiles from CSV, CSV.gz or Parquet")
    cu.add_argument("file", type=Path, help="the profiles file (.csv, .csv.gz or .parquet)")
    cu.add_argument("--tenant", required=True, help="the tenant (1-64 letters, digits, _ . -)")
    cu.add_argument(
        "--map",
        required=True,
        dest="mapping",
        help="field=Column,... (customer_id, account_manager, consent.personalization, "
        "consent.email, consent.phone, consent.sms, consent.post, attributes.NAME)",
    )
    cu.add_argument("--batch-size", type=int, default=5000, help="profiles per store write")
    cu.add_argument("--quiet", action="store_true", help="no progress bar")
    json_argument(cu)
    cu.set_defaults(handler=with_store(import_customers_command))


def _check_tenant(tenant: str) -> None:
    if not TENANT_PATTERN.match(tenant):
        raise ValueError("tenant must be 1-64 characters of letters, digits, '_', '.', '-'")


#: Refused rows listed one by one; the rest are counted.
SHOWN_REJECTIONS = 20


def import_customers_command(args: argparse.Namespace, store: Store) -> int:
    from tqdm import tqdm

    from customers.files import CustomerMapping, count_rows, read_customers
    from customers.service import CustomerService
    from events.ingest import Listeners

    _check_tenant(args.tenant)
    if args.batch_size < 1:
        raise ValueError("--batch-size must be at least 1")
    mapping = CustomerMapping.parse(args.mapping)
    total = count_rows(args.file, mapping)
    store.ensure_tenant(args.tenant)
    customers = CustomerService(store, Listeners())
    rows = stored = 0
    rejected = []
    started = time.perf_counter()
    with tqdm(total=total, unit=" rows", disable=args.quiet, smoothing=0.1) as bar:
        for batch in read_customers(args.file, mapping):
            for start in range(0, len(batch.customers), args.batch_size):
                chunk = batch.customers[start : start + args.batch_size]
                customers.put_many(args.tenant, chunk)
                stored += len(chunk)
            rows += batch.rows
            rejected.extend(batch.rejected)
            bar.update(batch.rows)
    elapsed = time.perf_counter() - started
    if args.json:
        print_json(
            {
                "rows": rows,
                "stored": stored,
                "rejected": len(rejected),
                "seconds": round(elapsed, 3),
                "rejections": [
                    {"row": r.row, "errors": [{"loc": loc, "msg": msg} for loc, msg in r.errors]}
                    for r in rejected[:SHOWN_REJECTIONS]
                ],
            }
        )
        return 0
    print(f"rows: {rows}  stored: {stored}  rejected: {len(rejected)}")
    print(f"time: {elapsed:.1f} s  ({rows / max(elapsed, 1e-9):,.0f} rows/s)")
    for r in rejected[:SHOWN_REJECTIONS]:
        print(f"  row {r.row}: " + "; ".join(f"{loc}: {msg}" for loc, msg in r.errors))
    if len(rejected) > SHOWN_REJECTIONS:
        print(f"  ... and {len(rejected) - SHOWN_REJECTIONS} more rejected row(s)")
    return 0


def import_events_command(args: argparse.Namespace, store: Store) -> int:
    from tqdm import tqdm

    from events.files import FileMapping, ReadStats, count_rows, read_events
    from events.ingest import Listeners, ingest
    from insights.service import InsightsService

    _check_tenant(args.tenant)
    mapping = FileMapping.parse(args.mapping)
    options = read_options(args)
    # A first pass for the bar's total (Parquet: its metadata), so it shows a percentage and
    # an ETA; skipped when no bar is shown.
    total = None if args.quiet else count_rows(args.file, mapping.fields["customer_id"])
    store.ensure_tenant(args.tenant)
    # The API's listeners: imported purchases refresh insights rows exactly as posted ones do.
    listeners = Listeners(on_events=[InsightsService(store).on_events])
    stats = ReadStats()
    accepted = duplicates = 0
    started = time.perf_counter()
    with tqdm(total=total, unit=" rows", disable=args.quiet, smoothing=0.1) as bar:
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
    if args.json:
        print_json(
            {
                "rows": stats.rows,
                "accepted": accepted,
                "duplicates": duplicates,
                "rejected": rejected,
                "excluded": stats.excluded,
                "seconds": round(elapsed, 3),
                "reasons": dict(stats.rejected.most_common()),
            }
        )
        return 0
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
