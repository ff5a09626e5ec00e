"""``atelier insights``: fit the customer-value models of one tenant and store every customer's row.

Examples
--------
``atelier insights --tenant shop --as-of 1997-10-01 --time-unit-days 7``

The command is thin: :func:`training.insights.run_insights_job` reads the tenant's stored value
configuration (``PUT /v1/insights/config``; the flags override it for this run) and its purchase
and return events before ``--as-of``, fits, and stores summary, rows and history in one write.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from cli.common import json_argument
from training.insights import run_insights_job


def parse_as_of(text: str | None) -> datetime:
    """``YYYY-MM-DD`` (midnight UTC) or an RFC 3339 datetime (naive = UTC); None means now."""
    if not text:
        return datetime.now(tz=UTC)
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``insights`` sub-command; its handler is ``args.func(args, store)``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "insights",
        help="fit customer-value models (BG/NBD, Gamma-Gamma) and store every customer's insights",
        description=(
            "Fit the tenant's customer-value models on its purchase and return events before "
            "--as-of, then store the model, Pareto report, segments and each customer's row."
        ),
    )
    parser.add_argument("--tenant", required=True, help="tenant id")
    parser.add_argument(
        "--as-of", default=None, help="use events before this date/time (default: now, UTC)"
    )
    parser.add_argument("--horizon-days", type=float, default=None, help="CLV horizon in days")
    parser.add_argument(
        "--time-unit-days",
        type=float,
        default=None,
        help="model time unit in days (1 = days, the default; 7 = weeks)",
    )
    parser.add_argument(
        "--model",
        choices=("bgnbd", "mbgnbd"),
        default=None,
        help="purchase model (default: the tenant's settings)",
    )
    json_argument(parser, already=True)
    parser.set_defaults(func=insights_command)
    return parser


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The command-line overrides of the tenant's stored value configuration."""
    overrides: dict[str, Any] = {}
    if getattr(args, "horizon_days", None) is not None:
        overrides["horizon_days"] = args.horizon_days
    if getattr(args, "time_unit_days", None) is not None:
        overrides["time_unit_days"] = args.time_unit_days
    if getattr(args, "model", None) is not None:
        overrides["model"] = args.model
    return overrides


def insights_command(args: argparse.Namespace, store: Any) -> int:
    """Run the job for ``args.tenant`` and store the result; prints a one-line JSON summary."""
    as_of = parse_as_of(args.as_of)
    try:
        result = run_insights_job(store, args.tenant, as_of, overrides=overrides_from_args(args))
    except ValueError as exc:
        print(f"atelier insights: {exc}", file=sys.stderr)
        return 1
    summary = {
        "tenant": args.tenant,
        "as_of": result.model["calibration_period"]["as_of"],
        "config_version": result.model["config_version"],
        "customers": result.model["n_customers"],
        "transaction_model": result.model["transaction_model"]["params"],
        "spend_model": (result.model["spend_model"] or {}).get("params"),
        "top_20_percent_revenue_share": result.pareto["top_revenue_share"],
        "tiers": {k: v["customers"] for k, v in result.segments["by_tier"].items()},
    }
    print(json.dumps(summary))
    return 0
