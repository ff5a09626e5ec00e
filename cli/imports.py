"""``atelier import events FILE``: bulk-load events through the same validation as the API."""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from access.keys import TENANT_PATTERN
from api.schemas.events import EventCreate
from cli.common import with_store
from core.records import Event
from events.ingest import Listeners, ingest
from insights.service import InsightsService
from store.base import Store
from training.files import iter_rows, parse_mapping


def register(sub: argparse._SubParsersAction) -> None:
    imp = sub.add_parser("import", help="bulk import")
    isub = imp.add_subparsers(dest="import_what", required=True, metavar="WHAT")
    ev = isub.add_parser("events", help="events from CSV, CSV.gz or Parquet")
    ev.add_argument("file", type=Path)
    ev.add_argument("--tenant", required=True)
    ev.add_argument(
        "--map",
        required=True,
        dest="mapping",
        help="field=Column,... (event_id, customer_id, item_id, type, quantity, "
        "value, unit_price, timestamp, context.NAME)",
    )
    ev.add_argument("--type", default="purchase", help="event type when no column maps it")
    ev.add_argument(
        "--negative-as-return",
        action="store_true",
        help="a purchase line with a negative quantity becomes a return",
    )
    ev.add_argument(
        "--exclude-items",
        default="",
        help="comma-separated item ids that are not products (fees, postage)",
    )
    ev.add_argument("--batch-size", type=int, default=5000)
    ev.add_argument("--quiet", action="store_true", help="no progress bar")
    ev.set_defaults(handler=with_store(import_events_command))


def import_events_command(args: argparse.Namespace, store: Store) -> int:
    if not TENANT_PATTERN.match(args.tenant):
        raise ValueError("tenant must be 1-64 characters of letters, digits, '_', '.', '-'")
    mapping = parse_mapping(args.mapping)
    excluded = {s.strip() for s in args.exclude_items.split(",") if s.strip()}
    store.ensure_tenant(args.tenant)
    stats = Counter[str]()
    reasons = Counter[str]()
    started = time.perf_counter()
    pending: list[Event] = []
    # The API's listeners: imported purchases refresh insights rows exactly as posted ones do.
    listeners = Listeners(on_events=[InsightsService(store).on_events])
    now = time.time()

    def flush() -> None:
        if pending:
            done = ingest(store, args.tenant, pending, listeners)
            stats["accepted"] += done.accepted
            stats["duplicates"] += done.duplicates
            pending.clear()

    with tqdm(unit=" rows", disable=args.quiet, smoothing=0.1) as bar:
        for rows in iter_rows(args.file, mapping, {"type": args.type}):
            for raw in rows:
                if raw.get("item_id") in excluded:
                    stats["excluded"] += 1
                    continue
                if args.negative_as_return:
                    _negative_to_return(raw)
                try:
                    event = EventCreate.model_validate(raw)
                except ValidationError as exc:
                    stats["rejected"] += 1
                    err = exc.errors()[0]
                    reasons[f"{'.'.join(map(str, err['loc'])) or 'event'}: {err['msg']}"] += 1
                    continue
                pending.append(event.to_record(now))
                if len(pending) >= args.batch_size:
                    flush()
            bar.update(len(rows))
    flush()
    elapsed = time.perf_counter() - started
    total = sum(stats[k] for k in ("accepted", "duplicates", "rejected", "excluded"))
    print(
        f"rows: {total}  accepted: {stats['accepted']}  duplicates: {stats['duplicates']}  "
        f"rejected: {stats['rejected']}  excluded: {stats['excluded']}"
    )
    print(f"time: {elapsed:.1f} s  ({total / max(elapsed, 1e-9):,.0f} rows/s)")
    for reason, count in reasons.most_common(5):
        print(f"  rejected {count:>7}  {reason}")
    return 0


def _negative_to_return(raw: dict[str, Any]) -> None:
    try:
        negative = float(raw.get("quantity", 1)) < 0
    except (TypeError, ValueError):
        return
    if negative and raw.get("type") == "purchase":
        raw["type"] = "return"
