"""``atelier publish`` and ``atelier report``: register model versions, measure their feedback."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from cli.common import json_argument, print_json, with_store
from recommender.artifacts import read_meta, version_folder
from recommender.feedback import GROUPINGS
from recommender.reports import ReportService, format_report
from recommender.validation import validate_version
from recommender.versions import ModelVersions
from settings import Settings
from store.base import Store


def register(sub: argparse._SubParsersAction) -> None:
    pub = sub.add_parser("publish", help="register a trained version (and optionally activate it)")
    pub.add_argument("--tenant", required=True, help="the tenant (1-64 letters, digits, _ . -)")
    pub.add_argument(
        "--version", required=True, help="the version folder's name under the models folder"
    )
    pub.add_argument("--activate", action="store_true", help="make it the active version now")
    json_argument(pub)
    pub.set_defaults(handler=with_store(publish_command))
    rep = sub.add_parser(
        "report",
        help="CTR, conversions, revenue per version or arm, with confidence intervals",
    )
    rep.add_argument("--tenant", required=True, help="the tenant (1-64 letters, digits, _ . -)")
    rep.add_argument("--from", dest="from_", help="first day or time (RFC 3339), inclusive")
    rep.add_argument("--to", help="last day or time (RFC 3339), exclusive")
    rep.add_argument(
        "--by", choices=GROUPINGS, default="model_version", help="group by version or by arm"
    )
    rep.add_argument("--experiment-id", help="with --by arm: only this experiment's arms")
    rep.add_argument(
        "--window-days",
        type=float,
        default=7.0,
        help="a purchase within this many days of an impression converts it",
    )
    json_argument(rep)
    rep.set_defaults(handler=with_store(report_command))


def publish_command(args: argparse.Namespace, store: Store) -> int:
    models_dir = Settings().models_dir
    folder = version_folder(models_dir, args.tenant, args.version)
    meta = read_meta(folder)  # raises if the version was never trained here
    # A version whose files fail validation is never published (the first one published would
    # become active), nor activated: InvalidVersion names what is wrong.
    validate_version(folder)
    store.publish_model(args.tenant, args.version, meta.get("metrics", {}))
    if args.activate:
        ModelVersions(store, models_dir).activate(args.tenant, args.version)
    active = store.active_model(args.tenant)
    if args.json:
        print_json({"tenant": args.tenant, "version": args.version, "active": active})
        return 0
    print(f"published {args.version} for tenant {args.tenant}; active: {active}")
    return 0


def report_command(args: argparse.Namespace, store: Store) -> int:
    """The document ``GET /v1/reports/recommendations`` answers, as a table (or as JSON)."""
    doc = ReportService(store).recommendations(
        args.tenant,
        start=_date(args.from_),
        end=_date(args.to),
        by=args.by,
        window_days=args.window_days,
        experiment_id=args.experiment_id,
    )
    if args.json:
        print_json(doc)
        return 0
    print(format_report(doc))
    active = store.active_model(args.tenant)
    if active is not None and args.by == "model_version":
        print(f"active version: {active}")
    return 0


def _date(text: str | None) -> float | None:
    """An RFC 3339 date or time (UTC when naive) as POSIX seconds."""
    if text is None:
        return None
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
