"""``atelier publish`` and ``atelier report``: register model versions, measure their feedback."""

from __future__ import annotations

import argparse
import json

from cli.common import with_store
from recommender.artifacts import read_meta, version_folder
from recommender.feedback import feedback_report
from recommender.validation import validate_version
from recommender.versions import ModelVersions
from settings import Settings
from store.base import Store


def register(sub: argparse._SubParsersAction) -> None:
    pub = sub.add_parser("publish", help="register a trained version (and optionally activate it)")
    pub.add_argument("--tenant", required=True)
    pub.add_argument("--version", required=True)
    pub.add_argument("--activate", action="store_true", help="make it the active version now")
    pub.set_defaults(handler=with_store(publish_command))
    rep = sub.add_parser("report", help="impressions, CTR and conversion per model version")
    rep.add_argument("--tenant", required=True)
    rep.add_argument(
        "--window-days",
        type=float,
        default=7.0,
        help="a purchase within this many days of an impression converts it",
    )
    rep.add_argument("--json", action="store_true")
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
    print(
        f"published {args.version} for tenant {args.tenant}; active: "
        f"{store.active_model(args.tenant)}"
    )
    return 0


def report_command(args: argparse.Namespace, store: Store) -> int:
    rows = feedback_report(
        store.iter_events(args.tenant, types=("impression", "click", "purchase")),
        window_days=args.window_days,
    )
    active = store.active_model(args.tenant)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "version": r.version,
                        "impressions": r.impressions,
                        "clicks": r.clicks,
                        "ctr": r.ctr,
                        "conversions": r.conversions,
                        "conversion_rate": r.conversion_rate,
                        "revenue": r.revenue,
                    }
                    for r in rows
                ],
                indent=2,
            )
        )
        return 0
    print(
        f"{'model version':<34}{'impressions':>12}{'clicks':>8}{'CTR':>8}"
        f"{'conversions':>13}{'conv. rate':>11}{'revenue':>11}"
    )
    for r in rows:
        mark = " *" if r.version == active else ""
        print(
            f"{r.version + mark:<34}{r.impressions:>12}{r.clicks:>8}{r.ctr:>8.2%}"
            f"{r.conversions:>13}{r.conversion_rate:>11.2%}{r.revenue:>11.2f}"
        )
    if not rows:
        print("no impression or click events with context.model_version yet")
    return 0
