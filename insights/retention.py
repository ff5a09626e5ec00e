"""Retention and defection by calendar month or quarter: cohorts, churn, reactivations, the value
lost from MVC customers, and the acquisition cost set against the value kept.

Computed from (customer, period) pairs, never a customer x period matrix, so a million customers
over a few years costs a few arrays of the number of pairs. A customer is *active* in a period
when they bought in it; *retained* in period p when active in p - 1 and p; *churned* in p when
active in p - 1 but not p; *reactivated* in p when active in p, not in p - 1, but before. Lost
revenue in p is what the customers of p - 1 spent less in p (all of it for those who churned);
revenue churn is that over the revenue of p - 1. The last period may be partial (``as_of``
falls inside it): it is marked, because its churn is overstated until it closes.

Examples
--------
>>> import numpy as np
>>> jan, feb, mar = 1293840000.0, 1296518400.0, 1298937600.0   # 2011-01-01, -02-01, -03-01
>>> r = retention_report(np.array(["a", "b", "a", "c", "a", "b"], dtype=object),
...                      np.array([jan, jan, feb, feb, mar, mar]), np.ones(6), "month",
...                      as_of=mar + 31 * 86400)
>>> [(p["period"], p["active"], p["new"], p["churned"], p["reactivated"]) for p in r["periods"]]
[('2011-01', 2, 2, 0, 0), ('2011-02', 2, 1, 1, 0), ('2011-03', 2, 0, 1, 1)]
>>> [(c["cohort"], c["customers"], c["retention"]) for c in r["cohorts"]]
[('2011-01', 2, [1.0, 0.5, 1.0]), ('2011-02', 1, [1.0, 0.0])]
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

Period = Literal["month", "quarter"]
PERIODS: tuple[str, ...] = ("month", "quarter")


def period_index(timestamps: np.ndarray, period: Period) -> np.ndarray:
    """Months (or quarters) since 1970 of POSIX seconds."""
    months = timestamps.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return months if period == "month" else months // 3


def period_label(index: int, period: Period) -> str:
    """``2011-03`` for a month, ``2011-Q1`` for a quarter."""
    if period == "month":
        return f"{1970 + index // 12:04d}-{index % 12 + 1:02d}"
    return f"{1970 + index // 4:04d}-Q{index % 4 + 1}"


def _pairs(
    customers: np.ndarray, periods: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The customer ids, and one (customer, period) pair per customer and period with a
    purchase, with its revenue, sorted by customer then period."""
    ids, cust = np.unique(customers.astype(str), return_inverse=True)
    base = int(periods.min())
    key = cust.astype(np.int64) * (1 << 20) + (periods - base)
    ukey, inv = np.unique(key, return_inverse=True)
    revenue = np.bincount(inv, weights=values, minlength=ukey.shape[0])
    return ids, ukey >> 20, (ukey & ((1 << 20) - 1)) + base, revenue


def retention_report(
    customers: np.ndarray,
    timestamps: np.ndarray,
    values: np.ndarray,
    period: Period,
    *,
    as_of: float,
    mvc: np.ndarray | None = None,
    margin: float = 1.0,
    acquisition_cost: float = 0.0,
) -> dict[str, Any]:
    """The retention report of the purchases (``customers``, ``timestamps``, ``values``).

    ``mvc`` optionally names the customers whose lost value is reported apart (an object array
    of ids). Returns ``{"period", "periods": [...], "cohorts": [...], "acquisition_cost"}``.
    """
    if customers.shape[0] == 0:
        return {
            "period": period,
            "periods": [],
            "cohorts": [],
            "acquisition_cost": acquisition_cost,
        }
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    ids, cust, per, rev = _pairs(customers, period_index(timestamps, period), values)
    n = cust.shape[0]
    same_prev = np.zeros(n, dtype=bool)
    same_prev[1:] = cust[1:] == cust[:-1]
    prev = np.where(same_prev, np.roll(per, 1), -1)
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = cust[:-1] == cust[1:]
    nxt = np.where(same_next, np.roll(per, -1), -1)
    next_rev = np.where(same_next, np.roll(rev, -1), 0.0)
    first = np.where(~same_prev)[0]
    cohort = np.repeat(per[first], np.diff(np.append(first, n)))

    is_mvc = (
        np.isin(ids, np.asarray(mvc, dtype=str))[cust]
        if mvc is not None
        else np.zeros(n, dtype=bool)
    )
    lo, hi = int(per.min()), int(per.max())
    span = hi - lo + 1
    at = per - lo

    def count(mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        w = None if weights is None else weights[mask]
        return np.bincount(at[mask], weights=w, minlength=span)

    active = count(np.ones(n, dtype=bool))
    new = count(~same_prev)
    retained = count(prev == per - 1)
    reactivated = count(same_prev & (prev < per - 1))
    revenue = count(np.ones(n, dtype=bool), rev)
    kept_revenue = count(prev == per - 1, rev)
    # What each period's customers spend less in the next one, booked on the next one.
    lost_each = np.where(nxt == per + 1, np.maximum(rev - next_rev, 0.0), rev)
    has_next = per < hi
    lost = np.zeros(span)
    np.add.at(lost, at[has_next] + 1, lost_each[has_next])
    mvc_lost = np.zeros(span)
    sel = has_next & is_mvc
    np.add.at(mvc_lost, at[sel] + 1, lost_each[sel])

    last_partial = period_index(np.array([as_of - 1.0]), period)[0] == hi and not _closes(
        as_of, hi, period
    )
    rows = []
    for k in range(span):
        before = active[k - 1] if k else 0.0
        churned = before - retained[k] if k else 0.0
        rows.append(
            {
                "period": period_label(lo + k, period),
                "active": int(active[k]),
                "new": int(new[k]),
                "retained": int(retained[k]),
                "churned": int(churned),
                "reactivated": int(reactivated[k]),
                "customer_churn": float(churned / before) if before else None,
                "revenue": float(revenue[k]),
                "lost_revenue": float(lost[k]),
                "revenue_churn": float(lost[k] / revenue[k - 1]) if k and revenue[k - 1] else None,
                "mvc_lost_revenue": float(mvc_lost[k]),
                "kept_margin": float(margin * kept_revenue[k]),
                "acquisition_spend": float(acquisition_cost * new[k]),
                "replacement_cost": float(acquisition_cost * churned),
                "partial": bool(k == span - 1 and last_partial),
            }
        )
    return {
        "period": period,
        "periods": rows,
        "cohorts": _cohorts(cohort, per, lo, period),
        "acquisition_cost": acquisition_cost,
    }


def _closes(as_of: float, index: int, period: Period) -> bool:
    """Whether ``as_of`` is at or after the end of period ``index``."""
    months = (index + 1) if period == "month" else (index + 1) * 3
    end = np.datetime64("1970-01", "M") + np.timedelta64(months, "M")
    return bool(as_of >= end.astype("datetime64[s]").astype(np.int64))


def _cohorts(cohort: np.ndarray, per: np.ndarray, lo: int, period: Period) -> list[dict[str, Any]]:
    """Per cohort (first period), the share of its customers buying in each later period."""
    hi = int(per.max())
    out = []
    for c in np.unique(cohort):
        mine = cohort == c
        size = int(np.sum(mine & (per == c)))
        counts = np.bincount(per[mine] - c, minlength=hi - int(c) + 1)
        out.append(
            {
                "cohort": period_label(int(c), period),
                "customers": size,
                "retention": [round(float(v) / size, 6) for v in counts],
            }
        )
    return out
