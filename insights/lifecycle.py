"""Lifecycle stage and churn risk, by explicit rules (first match wins).

1. **decline** (from any stage): P(alive) < ``decline_p_alive``; or churn risk (the probability of
   no purchase within ``churn_horizon_days``) >= ``decline_churn_risk``; or the recent purchase rate
   has fallen below ``decline_trend`` x the customer's usual rate, judged only when at least
   ``trend_min_expected`` repeat purchases were expected in the recent window.
2. **exploration**: a single purchase day so far, or first purchase under ``exploration_days`` ago.
3. **formation**: fewer than ``stable_min_purchases`` purchase days, or under ``stable_days`` of
   tenure: the habit is forming.
4. **stable**: everyone else — repeated purchases over a long enough tenure, still alive and buying
   at their usual pace.

The trend compares repeat purchase days in the last w = min(``trend_days``, age / 2) with the
number expected at the customer's own average rate, x * w / T.

Examples
--------
>>> import numpy as np
>>> from insights.config import ValueConfig
>>> lifecycle_stage(frequency=[0, 2, 9, 9], age_days=[10, 100, 400, 400], p_alive=[1, .9, .95, .2],
...                 churn_risk=[.3, .3, .1, .9], trend=[np.nan, np.nan, 1.0, 1.0],
...                 config=ValueConfig()).tolist()
['exploration', 'formation', 'stable', 'decline']
"""

from __future__ import annotations

from typing import Any

import numpy as np

from insights.config import ValueConfig

STAGES: tuple[str, ...] = ("exploration", "formation", "stable", "decline")


def purchase_trend(
    frequency: Any, T: Any, recent_repeat: Any, window: Any, min_expected: float
) -> np.ndarray:
    """Recent / usual repeat-purchase rate; NaN when too few purchases were expected to judge."""
    x, T_, recent, w = (
        np.asarray(a, dtype=np.float64) for a in (frequency, T, recent_repeat, window)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(T_ > 0, x * w / T_, 0.0)
        return np.where(expected >= min_expected, recent / expected, np.nan)


def lifecycle_stage(
    frequency: Any,
    age_days: Any,
    p_alive: Any,
    churn_risk: Any,
    trend: Any,
    config: ValueConfig,
) -> np.ndarray:
    """Stage of each customer (object array of str), by the rules of the module docstring."""
    x, age, alive, churn, tr = (
        np.asarray(a, dtype=np.float64) for a in (frequency, age_days, p_alive, churn_risk, trend)
    )
    falling = np.nan_to_num(tr, nan=np.inf) < config.decline_trend
    decline = (alive < config.decline_p_alive) | (churn >= config.decline_churn_risk) | falling
    exploration = (x == 0) | (age < config.exploration_days)
    formation = (x + 1 < config.stable_min_purchases) | (age < config.stable_days)
    return np.asarray(
        np.select(
            [decline, exploration, formation],
            ["decline", "exploration", "formation"],
            default="stable",
        ),
        dtype=object,
    )
