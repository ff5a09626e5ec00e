"""Feedback on recommendations: impressions, clicks and conversions per model version or arm.

Frontends send ``impression`` and ``click`` events whose ``context`` carries what the answer
said: ``model_version`` and, inside an experiment, ``experiment_id`` and ``arm`` (the
``experiment`` object of the answer). A *conversion* is an impression followed by a purchase of
its item by the same customer within ``window_days``; the purchase is credited to the latest
such impression, and its value is that impression's revenue.

Intervals (95%, :mod:`recommender.reports`) need per-impression figures, so each group keeps
the count of converted impressions and the sum and sum of squares of revenue per impression.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from core.records import Event

DAY = 86400.0

#: What a report groups by: the version that answered, or the experiment arm.
GROUPINGS = ("model_version", "arm")


@dataclass
class VersionFeedback:
    """One group's counts (``version`` is the model version or the arm)."""

    version: str
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: float = 0.0
    #: Sum of squared revenue per impression (for the revenue interval).
    revenue_sq: float = 0.0

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.impressions if self.impressions else 0.0

    @property
    def revenue_per_impression(self) -> float:
        return self.revenue / self.impressions if self.impressions else 0.0


def _group(e: Event, by: str, experiment_id: str | None) -> str | None:
    """The group an impression or click belongs to; None when it is not counted."""
    ctx = e.context or {}
    if by == "arm":
        if ctx.get("arm") is None or (
            experiment_id is not None and ctx.get("experiment_id") != experiment_id
        ):
            return None
        return str(ctx["arm"])
    return str(ctx.get("model_version") or "unknown")


def feedback_report(
    events: Iterable[Event],
    window_days: float = 7.0,
    *,
    by: str = "model_version",
    start: float | None = None,
    end: float | None = None,
    experiment_id: str | None = None,
) -> list[VersionFeedback]:
    """Per model version (or arm): impressions, clicks, CTR, conversions and their revenue.

    Impressions and clicks count when their time is in ``[start, end)``; a purchase converts an
    impression within ``window_days`` after it, even after ``end``. With ``by="arm"`` only
    events carrying an arm count (of ``experiment_id`` when given).

    Examples
    --------
    >>> ev = [Event("1", "c", "impression", 0.0, "i", context={"model_version": "v1"}),
    ...       Event("2", "c", "click", 5.0, "i", context={"model_version": "v1"}),
    ...       Event("3", "c", "purchase", 60.0, "i", value=9.0)]
    >>> r = feedback_report(ev)[0]
    >>> (r.version, r.impressions, r.clicks, r.conversions, r.revenue)
    ('v1', 1, 1, 1, 9.0)
    """
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    report: dict[str, VersionFeedback] = {}
    # (customer, item) -> [(time, group, impression number)]
    impressions: dict[tuple[str, str], list[tuple[float, str, int]]] = defaultdict(list)
    purchases: list[Event] = []
    n_impressions = 0
    for e in events:
        if e.type == "purchase":
            if e.item_id:
                purchases.append(e)
            continue
        if e.type not in ("impression", "click"):
            continue
        if (start is not None and e.timestamp < start) or (end is not None and e.timestamp >= end):
            continue
        group = _group(e, by, experiment_id)
        if group is None:
            continue
        row = report.setdefault(group, VersionFeedback(group))
        if e.type == "click":
            row.clicks += 1
            continue
        row.impressions += 1
        if e.item_id:
            impressions[(e.customer_id, e.item_id)].append((e.timestamp, group, n_impressions))
            n_impressions += 1
    window = window_days * DAY
    revenue: dict[int, tuple[str, float]] = {}  # converted impression -> (group, revenue)
    for p in purchases:
        shown = impressions.get((p.customer_id, p.item_id or ""))
        if not shown:
            continue
        # Credit the latest impression before the purchase, within the window.
        before = [s for s in shown if s[0] <= p.timestamp <= s[0] + window]
        if before:
            _, group, number = max(before)
            old = revenue.get(number, (group, 0.0))[1]
            revenue[number] = (group, old + float(p.value or 0.0))
    for group, value in revenue.values():
        row = report[group]
        row.conversions += 1
        row.revenue += value
        row.revenue_sq += value * value
    return sorted(report.values(), key=lambda r: r.version)
