"""Recommendation reports with 95% confidence intervals, per model version or experiment arm.

Methods (named in every report's ``methods``):

- **rates** (CTR, conversion rate): the Wilson score interval, which keeps its coverage for
  small counts and rates near 0, where the normal (Wald) interval does not;
- **differences of rates** between a group and the baseline (the first group, arm ``A`` in a
  two-arm test): Newcombe's hybrid score interval, built from the two Wilson intervals;
- **revenue per impression**: the mean of per-impression revenue (0 for an impression that did
  not convert), with the normal interval of a mean (central limit theorem: thousands of
  impressions per arm); the difference between arms with Welch's standard error. That is the
  delta method for a ratio whose denominator (impressions) is fixed: no resampling, so a report
  is exact and repeatable.

Examples
--------
>>> lo, hi = wilson(5, 100)
>>> round(lo, 4), round(hi, 4)
(0.0215, 0.1118)
>>> lo, hi = newcombe(50, 1000, 70, 1000)
>>> round(lo, 4), round(hi, 4)
(-0.0009, 0.0412)
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from core.errors import InvalidInput
from core.records import Event
from recommender.feedback import GROUPINGS, VersionFeedback, feedback_report
from store.protocols import EventStore

#: Two-sided 95% normal quantile.
Z95 = 1.959963984540054

METHODS = {
    "confidence": 0.95,
    "rates": "Wilson score interval",
    "rate_differences": "Newcombe hybrid score interval (from the two Wilson intervals)",
    "revenue_per_impression": "normal interval of the mean revenue per impression",
    "revenue_differences": "normal interval with Welch's standard error",
}


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (``(0, 1)`` when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    k = min(max(k, 0), n)
    p = k / n
    d = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z95) -> tuple[float, float]:
    """Newcombe's hybrid score interval of ``k2/n2 - k1/n1``."""
    p1 = min(k1, n1) / n1 if n1 else 0.0
    p2 = min(k2, n2) / n2 if n2 else 0.0
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    d = p2 - p1
    return (
        d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2),
        d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2),
    )


def _mean_var(total: float, total_sq: float, n: int) -> tuple[float, float]:
    """Mean and sample variance of ``n`` values from their sum and sum of squares."""
    if n <= 0:
        return 0.0, 0.0
    mean = total / n
    var = max(total_sq - n * mean * mean, 0.0) / (n - 1) if n > 1 else 0.0
    return mean, var


def mean_interval(total: float, total_sq: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Normal interval of a mean, from the values' sum and sum of squares."""
    mean, var = _mean_var(total, total_sq, n)
    half = z * math.sqrt(var / n) if n > 0 else 0.0
    return mean - half, mean + half


def _estimate(value: float, interval: tuple[float, float]) -> dict[str, float]:
    return {"value": value, "low": interval[0], "high": interval[1]}


def group_document(g: VersionFeedback) -> dict[str, Any]:
    """One group's figures, each rate and the revenue per impression with its interval."""
    n = g.impressions
    return {
        "key": g.version,
        "impressions": n,
        "clicks": g.clicks,
        "ctr": _estimate(g.ctr, wilson(g.clicks, n)),
        "conversions": g.conversions,
        "conversion_rate": _estimate(g.conversion_rate, wilson(g.conversions, n)),
        "revenue": g.revenue,
        "revenue_per_impression": _estimate(
            g.revenue_per_impression, mean_interval(g.revenue, g.revenue_sq, n)
        ),
    }


def comparison(base: VersionFeedback, other: VersionFeedback) -> dict[str, Any]:
    """``other`` minus ``base``: CTR, conversion rate and revenue per impression."""
    m1, v1 = _mean_var(base.revenue, base.revenue_sq, base.impressions)
    m2, v2 = _mean_var(other.revenue, other.revenue_sq, other.impressions)
    se = math.sqrt(
        (v1 / base.impressions if base.impressions else 0.0)
        + (v2 / other.impressions if other.impressions else 0.0)
    )
    return {
        "baseline": base.version,
        "variant": other.version,
        "ctr_difference": _estimate(
            other.ctr - base.ctr,
            newcombe(base.clicks, base.impressions, other.clicks, other.impressions),
        ),
        "conversion_rate_difference": _estimate(
            other.conversion_rate - base.conversion_rate,
            newcombe(base.conversions, base.impressions, other.conversions, other.impressions),
        ),
        "revenue_per_impression_difference": _estimate(
            m2 - m1, (m2 - m1 - Z95 * se, m2 - m1 + Z95 * se)
        ),
    }


def report_document(
    events: Iterable[Event],
    *,
    by: str = "model_version",
    start: float | None = None,
    end: float | None = None,
    window_days: float = 7.0,
    experiment_id: str | None = None,
) -> dict[str, Any]:
    """The report: one entry per group and each group's difference with the first one."""
    groups = feedback_report(
        events, window_days, by=by, start=start, end=end, experiment_id=experiment_id
    )
    return {
        "by": by,
        "from": start,
        "to": end,
        "window_days": window_days,
        "experiment_id": experiment_id,
        "groups": [group_document(g) for g in groups],
        "comparisons": [comparison(groups[0], g) for g in groups[1:]],
        "methods": METHODS,
    }


class ReportService:
    """Reports over the tenant's stored feedback events (``GET /v1/reports/recommendations``)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def recommendations(
        self,
        tenant: str,
        *,
        start: float | None = None,
        end: float | None = None,
        by: str = "model_version",
        window_days: float = 7.0,
        experiment_id: str | None = None,
    ) -> dict[str, Any]:
        """The report document; ``InvalidInput`` for ``to`` before ``from`` or a bad grouping."""
        if start is not None and end is not None and end < start:
            raise InvalidInput(
                "'to' is before 'from'", [{"loc": ["query", "to"], "msg": "before 'from'"}]
            )
        if by not in GROUPINGS:
            raise InvalidInput(
                f"by must be one of {', '.join(GROUPINGS)}",
                [{"loc": ["query", "by"], "msg": f"one of {', '.join(GROUPINGS)}"}],
            )
        events = self.store.iter_events(tenant, types=("impression", "click", "purchase"))
        return report_document(
            events,
            by=by,
            start=start,
            end=end,
            window_days=window_days,
            experiment_id=experiment_id,
        )


def format_report(doc: dict[str, Any]) -> str:
    """The report as a plain-text table (``atelier report``): estimates with [low, high]."""

    def cell(e: dict[str, float], pct: bool = True) -> str:
        f = (lambda v: f"{v:.2%}") if pct else (lambda v: f"{v:.3f}")
        return f"{f(e['value'])} [{f(e['low'])}, {f(e['high'])}]"

    head = f"{doc['by']:<34}{'impr.':>8}{'clicks':>8}  {'CTR [95% CI]':<26}"
    head += f"{'conv.':>6}  {'conv. rate [95% CI]':<26}{'revenue/impr. [95% CI]':<28}"
    lines = [head, "-" * len(head)]
    for g in doc["groups"]:
        lines.append(
            f"{g['key']:<34}{g['impressions']:>8}{g['clicks']:>8}  {cell(g['ctr']):<26}"
            f"{g['conversions']:>6}  {cell(g['conversion_rate']):<26}"
            f"{cell(g['revenue_per_impression'], pct=False):<28}"
        )
    for c in doc["comparisons"]:
        lines.append(
            f"{c['variant']} - {c['baseline']}: CTR {cell(c['ctr_difference'])}, conversion "
            f"{cell(c['conversion_rate_difference'])}, revenue/impression "
            f"{cell(c['revenue_per_impression_difference'], pct=False)}"
        )
    if not doc["groups"]:
        lines.append("no impression or click events with that context yet")
    return "\n".join(lines)
