"""The job's population figures beyond value: needs segments, share of wallet, the tenant's
share-of-customer KPI and retention, added to the rows and the summary of one run.

Share of wallet: a customer's annual spend (net revenue over their tenure, at least
``WALLET_MIN_DAYS``) against their wallet. The wallet is declared when the customer answered
a question about it (``declared`` maps customer id to the amount a year), otherwise a peer
estimate: the ``wallet_quantile`` of annual spend among customers alike in needs segment and
tenure band (under 90 days, under a year, longer), the spend a customer like them can reach
here. The gap (wallet minus spend, in money) is what growing them is worth.

Examples
--------
>>> import numpy as np
>>> spend = np.array([100.0, 200.0, 300.0, 400.0, 1000.0])
>>> wallets = peer_wallets(spend, np.zeros(5, dtype=int), quantile=0.8)
>>> wallets.round(6).tolist()
[520.0, 520.0, 520.0, 520.0, 1000.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from core.records import EventFrame
from insights.config import ValueConfig
from insights.needs import NeedsSegmenter, needs_features
from insights.retention import PERIODS, retention_report
from insights.summary import DAY, CustomerSummary
from insights.tiers import TIERS

#: The row fields a job run adds from the whole population; a refresh between runs carries
#: them over from the stored row (share of wallet recomputed on the new spend).
POPULATION_FIELDS: tuple[str, ...] = (
    "needs_segment",
    "needs_label",
    "annual_spend",
    "share_of_wallet",
    "wallet_estimate",
    "wallet_source",
    "wallet_gap",
)

#: Tenure below which annual spend is extrapolated from this many days (one basket is no year).
WALLET_MIN_DAYS = 90.0
#: Tenure bands (days) of the peer groups.
TENURE_BANDS = (90.0, 365.0)
UNKNOWN_CATEGORY = "uncategorised"


def annual_spend(s: CustomerSummary) -> np.ndarray:
    """Net revenue a year over each customer's tenure (at least ``WALLET_MIN_DAYS``)."""
    age_days = (s.as_of - s.first_purchase) / DAY
    return np.asarray(s.net_revenue * 365.0 / np.maximum(age_days, WALLET_MIN_DAYS))


def carry_population(row: dict[str, Any], stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """``row`` (a refresh) with the run's needs segment and wallet from ``stored`` (the row it
    replaces), its annual spend and share of wallet recomputed on its own history."""
    if not stored or stored.get("wallet_estimate") is None or row.get("history") is None:
        return row
    hist = row["history"]
    first = datetime.fromisoformat(hist["first_purchase"].replace("Z", "+00:00")).timestamp()
    as_of = datetime.fromisoformat(row["as_of"].replace("Z", "+00:00")).timestamp()
    net = max(float(hist["revenue"]) - float(hist["returned"]), 0.0)
    spend = net * 365.0 / max((as_of - first) / DAY, WALLET_MIN_DAYS)
    wallet = max(float(stored["wallet_estimate"]), spend)
    return {
        **row,
        "needs_segment": stored.get("needs_segment"),
        "needs_label": stored.get("needs_label"),
        "annual_spend": spend,
        "share_of_wallet": spend / wallet if wallet > 0 else 0.0,
        "wallet_estimate": wallet,
        "wallet_source": stored.get("wallet_source", "peer_estimate"),
        "wallet_gap": wallet - spend,
    }


def peer_wallets(spend: np.ndarray, group: np.ndarray, quantile: float) -> np.ndarray:
    """Each customer's wallet: the ``quantile`` of ``spend`` in their group, never below their
    own spend (a customer spends at most their wallet)."""
    out = np.empty_like(spend)
    for g in np.unique(group):
        mine = group == g
        out[mine] = np.quantile(spend[mine], quantile)
    return np.maximum(out, spend)


def _categories(frame: EventFrame, item_category: Mapping[str, str] | None) -> np.ndarray:
    items, inv = np.unique(frame.item_id.astype(str), return_inverse=True)
    lookup = item_category or {}
    names = np.array([lookup.get(i) or UNKNOWN_CATEGORY for i in items], dtype=object)
    return names[inv]


@dataclass(frozen=True, slots=True)
class Population:
    """A run's population figures: for each customer of the summary (in its order) the needs
    segment and the wallet, and the run summary's ``needs``, ``share_of_customer`` and
    ``retention``. Rows get their fields from it chunk by chunk (:meth:`add_to`)."""

    segment: np.ndarray
    labels: dict[str, str]
    spend: np.ndarray
    wallet: np.ndarray
    source: np.ndarray
    share: np.ndarray
    summary: dict[str, Any]

    def add_to(self, rows: Sequence[dict[str, Any]], positions: np.ndarray) -> None:
        """Add :data:`POPULATION_FIELDS` to ``rows``, the customers at ``positions``."""
        for row, i in zip(rows, np.asarray(positions).tolist(), strict=True):
            seg = self.segment[i]
            row["needs_segment"] = seg
            row["needs_label"] = self.labels.get(seg) if seg is not None else None
            row["annual_spend"] = float(self.spend[i])
            row["share_of_wallet"] = float(self.share[i])
            row["wallet_estimate"] = float(self.wallet[i])
            row["wallet_source"] = str(self.source[i])
            row["wallet_gap"] = float(self.wallet[i] - self.spend[i])


def differentiate(
    frame: EventFrame,
    s: CustomerSummary,
    rows: list[dict[str, Any]],
    tier: np.ndarray,
    clv: np.ndarray,
    cfg: ValueConfig,
    *,
    item_category: Mapping[str, str] | None = None,
    declared: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Add ``needs_segment``, ``needs_label`` and the share-of-wallet fields to ``rows`` (in the
    order of ``s``); return the summary's ``needs``, ``share_of_customer`` and ``retention``."""
    found = population(frame, s, tier, clv, cfg, item_category=item_category, declared=declared)
    found.add_to(rows, np.arange(len(rows)))
    return found.summary


def population(
    frame: EventFrame,
    s: CustomerSummary,
    tier: np.ndarray,
    clv: np.ndarray,
    cfg: ValueConfig,
    *,
    item_category: Mapping[str, str] | None = None,
    declared: Mapping[str, float] | None = None,
) -> Population:
    """Needs segments (fitted on the population), share of wallet and the tenant's KPI and
    retention, from the events and the run's summary ``s``, tiers and CLV."""
    bought = (frame.type == "purchase") & (frame.timestamp < s.as_of)
    lines = frame.select(bought)
    idx = np.searchsorted(s.customer_id.astype(str), lines.customer_id.astype(str))
    category = _categories(lines, item_category)
    value = np.nan_to_num(lines.value, nan=0.0)
    age_days = (s.as_of - s.first_purchase) / DAY

    segment = np.full(len(s), None, dtype=object)
    needs: dict[str, Any] | None = None
    if len(s) >= 5 * cfg.needs_segments:
        feats = needs_features(idx, category, value, s.frequency + 1, age_days, len(s))
        segmenter = NeedsSegmenter(n_segments=cfg.needs_segments).fit(feats)
        segment = segmenter.predict(feats)
        needs = segmenter.to_dict()
    labels = (needs or {}).get("segments", {})

    spend = annual_spend(s)
    band = np.searchsorted(np.asarray(TENURE_BANDS), age_days, side="right")
    _, group = np.unique(np.char.add(segment.astype(str), band.astype(str)), return_inverse=True)
    wallet = peer_wallets(spend, group, cfg.wallet_quantile)
    source = np.full(len(s), "peer_estimate", dtype=object)
    for cid, amount in (declared or {}).items():
        i = int(np.searchsorted(s.customer_id.astype(str), cid))
        if i < len(s) and s.customer_id[i] == cid and amount > 0:
            wallet[i], source[i] = max(float(amount), float(spend[i])), "declared"
    share = np.divide(spend, wallet, out=np.zeros_like(spend), where=wallet > 0)

    purchases = (idx, lines, category, value)
    summary = {
        "needs": _needs_summary(needs, segment, tier, s.net_revenue, clv),
        "share_of_customer": share_of_customer(purchases, spend, wallet, tier, len(s)),
        "retention": {
            p: retention_report(
                lines.customer_id,
                lines.timestamp,
                value,
                p,  # type: ignore[arg-type]
                as_of=s.as_of,
                mvc=s.customer_id[tier == "MVC"],
                margin=cfg.margin,
                acquisition_cost=cfg.acquisition_cost,
            )
            for p in PERIODS
        },
    }
    return Population(segment, labels, spend, wallet, source, share, summary)


def _needs_summary(
    needs: dict[str, Any] | None,
    segment: np.ndarray,
    tier: np.ndarray,
    revenue: np.ndarray,
    clv: np.ndarray,
) -> dict[str, Any] | None:
    """Per needs segment: its label, customers, revenue and CLV, and its customers per tier."""
    if needs is None:
        return None
    out = {}
    for seg, label in needs["segments"].items():
        mine = segment == seg
        out[seg] = {
            "label": label,
            "customers": int(mine.sum()),
            "revenue": float(revenue[mine].sum()),
            "clv": float(clv[mine].sum()),
            "by_tier": {t: int((mine & (tier == t)).sum()) for t in TIERS},
        }
    return {"model": needs, "segments": out}


def share_of_customer(
    purchases: tuple[np.ndarray, EventFrame, np.ndarray, np.ndarray],
    spend: np.ndarray,
    wallet: np.ndarray,
    tier: np.ndarray,
    n: int,
) -> dict[str, Any]:
    """The tenant's KPI: spend over wallet (overall and by tier), products and categories per
    customer, and the money left in the wallets (the gap)."""
    idx, lines, category, _ = purchases
    _, item = np.unique(lines.item_id.astype(str), return_inverse=True)
    _, cat = np.unique(category.astype(str), return_inverse=True)
    products = np.unique(idx.astype(np.int64) * (int(item.max(initial=0)) + 1) + item).shape[0]
    categories = np.unique(idx.astype(np.int64) * (int(cat.max(initial=0)) + 1) + cat).shape[0]

    def kpi(mask: np.ndarray) -> dict[str, Any]:
        w, sp = float(wallet[mask].sum()), float(spend[mask].sum())
        return {
            "customers": int(mask.sum()),
            "share_of_wallet": sp / w if w > 0 else None,
            "spend": sp,
            "wallet": w,
            "gap": w - sp,
        }

    return {
        **kpi(np.ones(n, dtype=bool)),
        "by_tier": {t: kpi(tier == t) for t in TIERS},
        "products_per_customer": products / n if n else 0.0,
        "categories_per_customer": categories / n if n else 0.0,
    }
