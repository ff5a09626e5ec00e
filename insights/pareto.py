"""Revenue concentration (the 80/20 rule): the Pareto curve and the top-20% revenue share.

Customers are ranked by revenue, highest first; the curve gives the cumulative share of revenue
against the cumulative share of customers. Shares at fractional positions are interpolated linearly
between whole customers, so "the top 20%" of 7 customers means 1.4 customers' worth, and the value
does not jump with the customer count.

Examples
--------
>>> top_share([100, 0, 0, 0, 0], 0.2)
1.0
>>> top_share([1, 1, 1, 1, 1], 0.2)
0.2
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _lorenz(revenue: Any) -> tuple[np.ndarray, np.ndarray]:
    v = np.clip(np.asarray(revenue, dtype=np.float64), 0.0, None)
    v = np.sort(v)[::-1]
    n = v.size
    total = float(v.sum())
    cust = np.arange(n + 1) / max(n, 1)
    rev = np.concatenate([[0.0], np.cumsum(v) / total]) if total > 0 else cust.copy()
    return cust, rev


def top_share(revenue: Any, fraction: float = 0.2) -> float:
    """Share of total revenue brought by the top ``fraction`` of customers (0 if no customers)."""
    if np.asarray(revenue).size == 0:
        return 0.0
    cust, rev = _lorenz(revenue)
    return float(np.interp(fraction, cust, rev))


def pareto_report(revenue: Any, points: int = 21, top: float = 0.2) -> dict[str, Any]:
    """The concentration curve at ``points`` evenly spaced customer shares, and summary figures.

    Returns
    -------
    dict
        ``{"curve": [{"customer_share", "revenue_share"}], "top_share": top,
        "top_revenue_share", "customers_for_80_percent", "gini", "n_customers", "total_revenue"}``
        where ``customers_for_80_percent`` is the smallest customer share bringing 80% of revenue.
    """
    v = np.clip(np.asarray(revenue, dtype=np.float64), 0.0, None)
    n = int(v.size)
    if n == 0:
        return {
            "curve": [],
            "top_share": top,
            "top_revenue_share": 0.0,
            "customers_for_80_percent": 0.0,
            "gini": 0.0,
            "n_customers": 0,
            "total_revenue": 0.0,
        }
    cust, rev = _lorenz(v)
    grid = np.linspace(0.0, 1.0, points)
    curve_rev = np.interp(grid, cust, rev)
    # Inverse of the (increasing) curve: the customer share where revenue share reaches 0.8.
    for80 = float(np.interp(0.8, rev, cust)) if rev[-1] > 0 else 0.8
    # Gini of revenue across customers: twice the area between the curve and the diagonal.
    area = float(np.sum((rev[1:] + rev[:-1]) / 2.0 * np.diff(cust)))
    return {
        "curve": [
            {"customer_share": round(float(c), 6), "revenue_share": round(float(r), 6)}
            for c, r in zip(grid, curve_rev, strict=True)
        ],
        "top_share": top,
        "top_revenue_share": float(np.interp(top, cust, rev)),
        "customers_for_80_percent": for80,
        "gini": 2.0 * area - 1.0,
        "n_customers": n,
        "total_revenue": float(v.sum()),
    }
