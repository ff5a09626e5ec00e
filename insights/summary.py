"""Per-customer purchase summaries (frequency, recency, age, spend) from an :class:`EventFrame`.

The customer-value models need, for each customer, how many *repeat* purchase periods they had
(``frequency`` x), when the last one was (``recency`` t_x, measured from the first purchase), how
long they have been observed (``T``, first purchase to the end of the observation period) and the
mean value of the repeat purchases (``monetary``). The conventions are those of ``lifetimes``
``summary_data_from_transaction_data`` and of Fader, Hardie & Lee (2005), so the published CDNOW
figures are reproduced:

* time is counted in whole UTC days; purchases on the same day collapse into one purchase whose
  value is the day's total;
* events strictly before ``as_of`` are used; the observation period ends on the last day that
  started before ``as_of`` (``as_of = 1997-10-01T00:00Z`` ends it on 1997-09-30, which gives the
  T = 38.86 weeks of the CDNOW calibration summary);
* durations are expressed in ``time_unit_days`` (7 for the CDNOW weeks, 1 by default);
* returns (``type == "return"``, ``value`` = refunded amount, sign ignored) never change the
  purchase counts; they lower the net revenue and give each customer a return rate used to turn
  the expected gross spend into a net one.

Examples
--------
>>> import numpy as np
>>> from core.records import EventFrame
>>> day = 86400.0
>>> f = EventFrame(np.array(["a", "a", "a", "b"], dtype=object), np.array(["", "", "", ""], dtype=object),
...                np.array(["purchase"] * 4, dtype=object), np.array([0, 0.5, 3, 1]) * day,
...                np.full(4, np.nan), np.array([10.0, 5.0, 20.0, 7.0]))
>>> s = summarize(f, as_of=10 * day)
>>> s.customer_id.tolist(), s.frequency.tolist(), s.recency.tolist(), s.T.tolist()
(['a', 'b'], [1.0, 0.0], [3.0, 0.0], [9.0, 8.0])
>>> s.monetary.tolist()
[20.0, 0.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from core.records import EventFrame

DAY = 86400.0


def as_timestamp(when: datetime | float | int) -> float:
    """POSIX seconds of ``when`` (a naive datetime is read as UTC)."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            from datetime import UTC

            when = when.replace(tzinfo=UTC)
        return float(when.timestamp())
    return float(when)


def observation_end_day(as_of: float) -> int:
    """Index (days since the epoch) of the last UTC day that started before ``as_of``."""
    return math.ceil(as_of / DAY) - 1


@dataclass(slots=True)
class CustomerSummary:
    """Parallel per-customer arrays, sorted by ``customer_id``.

    Durations (``recency``, ``T``, ``age_days`` aside) are in ``time_unit_days``; money in the
    frame's currency. ``frequency`` counts repeat purchase days, so a one-time buyer has 0.
    """

    customer_id: np.ndarray  #: object array of str
    frequency: np.ndarray  #: repeat purchase days x
    recency: np.ndarray  #: t_x, first to last purchase day
    T: np.ndarray  #: first purchase day to the end of the observation period
    monetary: np.ndarray  #: mean value of the repeat purchase days (0 when x = 0)
    order_value: np.ndarray  #: mean value of all purchase days (first one included)
    revenue: np.ndarray  #: gross purchase value before ``as_of``
    returned: np.ndarray  #: refunded value before ``as_of``
    n_returns: np.ndarray  #: number of return events
    first_purchase: np.ndarray  #: POSIX seconds of the first purchase day (midnight UTC)
    last_purchase: np.ndarray  #: POSIX seconds of the last purchase day (midnight UTC)
    recent_repeat: np.ndarray  #: repeat purchase days in the trend window before the end
    trend_window: np.ndarray  #: length of that window (time units): min(trend days, T / 2)
    recent_revenue: np.ndarray  #: purchase value in the last ``recent_days`` days
    runrate_revenue: np.ndarray  #: purchase value in the last ``runrate_days`` days
    runrate_tail: np.ndarray  #: purchase value in the last ``runrate_tail_days`` days
    as_of: float
    time_unit_days: float

    def __len__(self) -> int:
        return int(self.customer_id.shape[0])

    @property
    def net_revenue(self) -> np.ndarray:
        return np.maximum(self.revenue - self.returned, 0.0)

    @property
    def return_rate(self) -> np.ndarray:
        """Share of purchased value refunded, clipped to [0, 1]."""
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(self.revenue > 0, self.returned / self.revenue, 0.0)
        return np.clip(rate, 0.0, 1.0)

    @property
    def days_since_last(self) -> np.ndarray:
        """Whole days from the last purchase day to the end of the observation period."""
        return (self.T - self.recency) * self.time_unit_days

    def take(self, index: np.ndarray | int) -> CustomerSummary:
        """The customers at ``index`` (array or single position) as a new summary."""
        idx = np.atleast_1d(np.asarray(index))
        kw = {
            name: getattr(self, name)[idx]
            for name in self.__dataclass_fields__
            if name not in ("as_of", "time_unit_days")
        }
        return CustomerSummary(**kw, as_of=self.as_of, time_unit_days=self.time_unit_days)


def summarize(
    frame: EventFrame,
    as_of: datetime | float,
    *,
    time_unit_days: float = 1.0,
    trend_days: float = 90.0,
    recent_days: float = 90.0,
    runrate_days: float = 180.0,
    runrate_tail_days: float = 90.0,
) -> CustomerSummary:
    """Summarise the purchase and return events of ``frame`` before ``as_of``, per customer.

    Parameters
    ----------
    frame : EventFrame
        Events of any types; only ``purchase`` and ``return`` are read. A purchase without a
        value counts as a purchase worth 0.
    as_of : datetime or float
        End of the observation period (exclusive), a datetime or POSIX seconds.
    time_unit_days : float
        Length of the model's time unit in days (7 for weeks).
    trend_days : float
        Longest window used for the recent purchase trend (capped at half the customer's age).
    recent_days : float
        Window of ``recent_revenue`` (the past spend a growth figure is compared with).
    runrate_days : float
        Window of ``runrate_revenue`` (the recent spending rate the run-rate CLV projects).
    runrate_tail_days : float
        Window of ``runrate_tail``: what of the run-rate window is still in it some days later
        (the next-tier requirement's view of the future).

    Returns
    -------
    CustomerSummary
        One entry per customer with at least one purchase before ``as_of``.
    """
    t_end = as_timestamp(as_of)
    end_day = observation_end_day(t_end)
    before = frame.timestamp < t_end
    is_purchase = (frame.type == "purchase") & before
    is_return = (frame.type == "return") & before

    cust_all = frame.customer_id[is_purchase]
    if cust_all.shape[0] == 0:
        z = np.empty(0)
        return CustomerSummary(
            np.empty(0, dtype=object),
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            z,
            as_of=t_end,
            time_unit_days=time_unit_days,
        )
    ids, cust_idx = np.unique(cust_all.astype(str), return_inverse=True)
    n = ids.shape[0]
    days = np.floor(frame.timestamp[is_purchase] / DAY).astype(np.int64)
    values = np.nan_to_num(frame.value[is_purchase], nan=0.0)

    # Collapse (customer, day) pairs: one purchase per customer per day, valued at the day's total.
    key = cust_idx.astype(np.int64) * (1 << 32) + (days - days.min())
    ukey, inv = np.unique(key, return_inverse=True)
    day_value = np.bincount(inv, weights=values, minlength=ukey.shape[0])
    d_cust = (ukey >> 32).astype(np.int64)
    d_day = (ukey & ((1 << 32) - 1)) + days.min()
    # ukey is sorted, so each customer's days are contiguous and ascending.
    starts = np.searchsorted(d_cust, np.arange(n))
    ends = np.append(starts[1:], d_cust.shape[0])
    first_day = d_day[starts]
    last_day = d_day[ends - 1]
    n_days = (ends - starts).astype(np.float64)
    is_first = np.zeros(d_cust.shape[0], dtype=bool)
    is_first[starts] = True

    revenue = np.bincount(d_cust, weights=day_value, minlength=n)
    repeat_value = np.bincount(d_cust[~is_first], weights=day_value[~is_first], minlength=n)
    frequency = n_days - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        monetary = np.where(frequency > 0, repeat_value / frequency, 0.0)
    order_value = revenue / n_days

    unit = float(time_unit_days)
    age_days = (end_day - first_day).astype(np.float64)
    T = age_days / unit
    recency = (last_day - first_day).astype(np.float64) / unit

    # Trend: repeat purchase days in the last w days of the customer's observed life.
    w_days = np.minimum(float(trend_days), age_days / 2.0)
    cutoff = end_day - w_days[d_cust]
    recent_mask = (~is_first) & (d_day > cutoff)
    recent_repeat = np.bincount(d_cust[recent_mask], minlength=n).astype(np.float64)
    rec_mask = d_day > end_day - float(recent_days)
    recent_revenue = np.bincount(d_cust[rec_mask], weights=day_value[rec_mask], minlength=n)
    run_mask = d_day > end_day - float(runrate_days)
    runrate_revenue = np.bincount(d_cust[run_mask], weights=day_value[run_mask], minlength=n)
    tail_mask = d_day > end_day - float(runrate_tail_days)
    runrate_tail = np.bincount(d_cust[tail_mask], weights=day_value[tail_mask], minlength=n)

    # Returns: matched to customers with purchases; others have nothing to attribute them to.
    r_cust = frame.customer_id[is_return].astype(str)
    r_pos = np.searchsorted(ids, r_cust)
    r_pos = np.clip(r_pos, 0, max(n - 1, 0))
    known = ids[r_pos] == r_cust if n else np.zeros(0, dtype=bool)
    r_val = np.abs(np.nan_to_num(frame.value[is_return], nan=0.0))
    returned = np.bincount(r_pos[known], weights=r_val[known], minlength=n)
    n_returns = np.bincount(r_pos[known], minlength=n).astype(np.float64)

    return CustomerSummary(
        customer_id=ids.astype(object),
        frequency=frequency,
        recency=recency,
        T=T,
        monetary=monetary,
        order_value=order_value,
        revenue=revenue,
        returned=returned,
        n_returns=n_returns,
        first_purchase=first_day.astype(np.float64) * DAY,
        last_purchase=last_day.astype(np.float64) * DAY,
        recent_repeat=recent_repeat,
        trend_window=w_days / unit,
        recent_revenue=recent_revenue,
        runrate_revenue=runrate_revenue,
        runrate_tail=runrate_tail,
        as_of=t_end,
        time_unit_days=unit,
    )
