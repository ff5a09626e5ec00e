"""Feedback on recommendations: impressions, clicks and conversions per model version.

Frontends send ``impression`` and ``click`` events whose ``context.model_version`` names the
version that produced the recommendation. A *conversion* is a purchase of an impressed item by
the same customer within ``window_days`` after the impression.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from core.records import Event

DAY = 86400.0


@dataclass
class VersionFeedback:
    version: str
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue: float = 0.0

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0

    @property
    def conversion_rate(self) -> float:
        return self.conversions / self.impressions if self.impressions else 0.0


def feedback_report(events: Iterable[Event], window_days: float = 7.0) -> list[VersionFeedback]:
    """Per model version: impressions, clicks, CTR, conversions and their revenue.

    Examples
    --------
    >>> ev = [Event("1", "c", "impression", 0.0, "i", context={"model_version": "v1"}),
    ...       Event("2", "c", "click", 5.0, "i", context={"model_version": "v1"}),
    ...       Event("3", "c", "purchase", 60.0, "i", value=9.0)]
    >>> r = feedback_report(ev)[0]
    >>> (r.version, r.impressions, r.clicks, r.conversions, r.revenue)
    ('v1', 1, 1, 1, 9.0)
    """
    report: dict[str, VersionFeedback] = {}
    impressions: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
    purchases: list[Event] = []
    for e in events:
        version = str((e.context or {}).get("model_version") or "unknown")
        if e.type == "impression":
            report.setdefault(version, VersionFeedback(version)).impressions += 1
            if e.item_id:
                impressions[(e.customer_id, e.item_id)].append((e.timestamp, version))
        elif e.type == "click":
            report.setdefault(version, VersionFeedback(version)).clicks += 1
        elif e.type == "purchase" and e.item_id:
            purchases.append(e)
    window = window_days * DAY
    for p in purchases:
        shown = impressions.get((p.customer_id, p.item_id or ""))
        if not shown:
            continue
        # Credit the latest impression before the purchase, within the window.
        before = [(t, v) for t, v in shown if t <= p.timestamp <= t + window]
        if before:
            version = max(before)[1]
            row = report[version]
            row.conversions += 1
            row.revenue += float(p.value or 0.0)
    return sorted(report.values(), key=lambda r: r.version)
