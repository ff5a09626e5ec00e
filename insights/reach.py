"""When a requirement is within a customer's reach: the one rule the insights row's
``next_tier`` and the entitlements' withheld perks both state requirements by.

A route to a tier is reachable when it asks at most :data:`STRETCH` times what the customer does
at their own pace in the window: no more purchases than ``STRETCH`` x the purchases expected of
them (at least one), no single purchase larger than ``STRETCH`` x the larger of their spend in
the window and their usual order. So a customer who spends 50 a month is never asked for 15,000
in one purchase. The pace is :func:`pace`'s: purchases the model expects in the window, or the
customer's recent run rate if that says more.

Examples
--------
>>> pace_k, pace_spend = pace(np.array([1.0]), np.array([0.5]), np.array([50.0]), 90.0)
>>> float(pace_k[0]), float(pace_spend[0])
(1.0, 50.0)
>>> purchases_reachable(3, 1.0), purchases_reachable(4, 1.0)
(True, False)
>>> spend_reachable(150.0, 50.0, 50.0), spend_reachable(2610.35, 50.0, 50.0)
(True, False)
"""

from __future__ import annotations

import math

import numpy as np

#: A route is reachable when it asks at most this multiple of the customer's own pace.
STRETCH = 3.0


def pace(
    expected: np.ndarray, run_rate: np.ndarray, typical: np.ndarray, window_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's pace over ``window_days``: ``(purchases, spend)``, from the purchases the
    model expects (``expected``), their run rate a day and their usual purchase (``typical``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        by_rate = np.where(typical > 0, run_rate * window_days / typical, 0.0)
    purchases = np.maximum(expected, by_rate)
    return purchases, np.maximum(purchases * typical, run_rate * window_days)


def purchases_reachable(k: int, pace_purchases: float) -> bool:
    """Whether ``k`` more purchases are within reach at ``pace_purchases`` in the window."""
    return k <= max(1, math.ceil(STRETCH * pace_purchases))


def spend_reachable(spend: float, pace_spend: float, typical: float) -> bool:
    """Whether one purchase of ``spend`` is within reach of a customer spending ``pace_spend``
    in the window, whose usual purchase is ``typical``."""
    return spend <= STRETCH * max(pace_spend, typical)
