"""Scoring customers with one job run's parameters fixed: the serving side of customer value.

:class:`CustomerValueScorer` parses a job run's stored state once and scores customers again with
the parameters fixed (when their purchases or returns arrive, when a customer the job did not see
is asked for), recomputes a row's figures over another horizon, and answers for a customer with
no purchase yet. It scores through :func:`insights.rows.score_rows`, the job's own path, so a
refreshed row equals the job's row for the same events and ``as_of``.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import numpy as np

from core.records import Event, EventFrame
from insights.actions import Recommender
from insights.bgnbd import _BuyTillYouDie, transaction_model_from_dict
from insights.config import ValueConfig
from insights.gamma_gamma import GammaGammaModel
from insights.reach import pace
from insights.rfm import RFMScorer
from insights.rows import (
    ValueModels,
    contacts_array,
    iso_utc,
    parse_iso,
    population_metrics,
    score_rows,
    summarize_for,
    value_after,
)
from insights.summary import DAY, CustomerSummary, as_timestamp, observation_end_day
from insights.tiers import ValueTiers
from insights.validation import ActivityModel, discount_annuity

__all__ = ["REFRESH_MOMENT_S", "VALUE_EVENT_TYPES", "CustomerValueScorer", "refresh_customer"]

#: The event types that move a customer's value (others never change a row).
VALUE_EVENT_TYPES: tuple[str, ...] = ("purchase", "return")
#: A refresh is made as of the newest new event plus this moment (the event itself is included).
REFRESH_MOMENT_S = 1.0


class CustomerValueScorer:
    """Scores customers with one job run's fitted models, every parameter fixed.

    Build it once per job run with :meth:`from_state` (parsing the state is the costly part) and
    keep it while that run is current; each call then summarises the events it is given and
    applies the models, with no fitting. Rows have the shape of the job's rows (see
    :func:`refresh_customer`).

    Parameters
    ----------
    config : ValueConfig
        The run's configuration (horizon, time unit, costs, tier and lifecycle knobs).
    transaction_model : BetaGeoModel or ModifiedBetaGeoModel
        Fitted purchase-count model.
    spend_model : GammaGammaModel or None
        Fitted spend model; None when the run had too few repeat buyers.
    fallback_spend : float
        Mean order value, the expected spend without a spend model.
    tiers : ValueTiers
        Fitted tier thresholds.
    rfm : RFMScorer
        Fitted RFM edges.
    as_of : float
        POSIX seconds of the run's ``as_of`` (end of its calibration period).
    blend_weight : float
        Weight of the model's CLV against the run-rate CLV (1: the model alone).
    activity : ActivityModel or None
        The calibrated activity model giving ``p_alive`` (None: the model's P(alive)).

    Examples
    --------
    >>> import numpy as np
    >>> from core.records import Event, EventFrame
    >>> from training.insights import compute_insights
    >>> day, rng = 86400.0, np.random.default_rng(0)
    >>> frame = EventFrame.from_events([  # 60 customers buying at their own rates for a while
    ...     Event(f"{c}-{k}", f"c{c:02d}", "purchase", t * day, value=rng.gamma(4.0, 10.0))
    ...     for c in range(60)
    ...     for k, t in enumerate(rng.uniform(0, 150)
    ...                           + np.cumsum(rng.exponential(rng.gamma(2, 30), rng.geometric(0.3))))])
    >>> result = compute_insights(frame, 365 * day)            # the job run
    >>> scorer = CustomerValueScorer.from_state(result.state)  # once per run
    >>> row = scorer.score("c01", frame, 365 * day)            # e.g. after c01's purchase
    >>> row["tier"], row["history"]["purchases"], row["clv"] == result.rows["c01"]["clv"]
    ('MVC', 8, True)
    >>> scorer.score_many(frame, 365 * day)["c01"]["clv"] == row["clv"]  # many in one pass
    True
    >>> scorer.at_horizon(row, 30)["clv"] < row["clv"]
    True
    >>> scorer.no_purchases("newbie")["next_tier"]["requirement"]
    'a first purchase (a typical one is worth 42.56)'
    """

    def __init__(
        self,
        config: ValueConfig,
        transaction_model: _BuyTillYouDie,
        spend_model: GammaGammaModel | None,
        fallback_spend: float,
        tiers: ValueTiers,
        rfm: RFMScorer,
        as_of: float,
        blend_weight: float = 1.0,
        activity: ActivityModel | None = None,
    ) -> None:
        self.config = config
        self.transaction_model = transaction_model
        self.spend_model = spend_model
        self.fallback_spend = fallback_spend
        self.tiers = tiers
        self.rfm = rfm
        self.as_of = as_of
        self._models = ValueModels(
            config, transaction_model, spend_model, fallback_spend, blend_weight, activity
        )
        self._first_purchase: dict[str, Any] | None = None

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> CustomerValueScorer:
        """The scorer of a job run from its ``InsightsResult.state`` (as stored, plain JSON)."""
        return cls(
            config=ValueConfig.model_validate(state["config"]),
            transaction_model=transaction_model_from_dict(state["transaction_model"]),
            spend_model=(
                GammaGammaModel.from_dict(state["spend_model"])
                if state.get("spend_model")
                else None
            ),
            fallback_spend=float(state["fallback_spend"]),
            tiers=ValueTiers.from_dict(state["tiers"]),
            rfm=RFMScorer.from_dict(state["rfm"]),
            as_of=parse_iso(state["calibration_period"]["as_of"]),
            blend_weight=float(state.get("blend_weight", 1.0)),
            activity=(
                ActivityModel.from_dict(state["activity"]) if state.get("activity") else None
            ),
        )

    # -- scoring -------------------------------------------------------------------------------
    def score(
        self,
        customer_id: str,
        history: EventFrame,
        as_of: datetime | float,
        *,
        contacts: float = 0.0,
        recommend: Recommender | None = None,
    ) -> dict[str, Any] | None:
        """The row of ``customer_id`` from their events before ``as_of``.

        Parameters
        ----------
        customer_id : str
            The customer to score; other customers' events in ``history`` are ignored.
        history : EventFrame
            Events including the customer's ``purchase`` and ``return`` events (others are
            ignored).
        as_of : datetime or float
            End of observation (exclusive), usually the newest event plus a moment
            (:meth:`refresh_as_of`).
        contacts : float
            The customer's service contacts before ``as_of`` (cost to serve).
        recommend : callable, optional
            ``customer_id -> item ids``; gives a cross-sell action its items.

        Returns
        -------
        dict or None
            The row, or None when the customer has no purchase before ``as_of``.
        """
        mine = history.select(history.customer_id == customer_id)
        rows = self.score_many(mine, as_of, contacts={customer_id: contacts}, recommend=recommend)
        return rows.get(customer_id)

    def score_many(
        self,
        history: EventFrame,
        as_of: datetime | float,
        *,
        contacts: Mapping[str, float] | None = None,
        recommend: Recommender | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Rows of every customer of ``history`` with a purchase before ``as_of``, in one pass.

        One vectorised pass costs about as much as a few single scorings, so a batch of
        customers should be scored through here rather than one by one; each row equals the
        one :meth:`score` gives for that customer.

        Parameters
        ----------
        history : EventFrame
            Events of the customers to score (only ``purchase`` and ``return`` are read).
        as_of : datetime or float
            End of observation (exclusive) shared by all of them.
        contacts : mapping, optional
            Service contacts per customer before ``as_of``; missing = 0.
        recommend : callable, optional
            ``customer_id -> item ids``; gives cross-sell actions their items.

        Returns
        -------
        dict
            ``customer_id -> row``, in customer id order.
        """
        s = summarize_for(history, as_timestamp(as_of), self.config)
        if len(s) == 0:
            return {}
        contacts_arr = contacts_array(s.customer_id, contacts)
        rows, _ = score_rows(
            s, self._models, self.tiers, self.rfm, contacts_arr, recommend, time.time()
        )
        return {row["customer_id"]: row for row in rows}

    def refresh_as_of(self, newest_event: float) -> float:
        """When a customer whose newest event is at ``newest_event`` is re-scored as of.

        Just after that event, so that it counts, and never before the run's own ``as_of``:
        a refresh never sees less than the run did.
        """
        return max(self.as_of, float(newest_event) + REFRESH_MOMENT_S)

    def refresh(
        self,
        history: EventFrame,
        newest: Mapping[str, float],
        *,
        contacts: Mapping[str, float] | None = None,
        recommend: Recommender | None = None,
    ) -> dict[str, dict[str, Any]]:
        """Rows of the customers whose events just arrived, each as of :meth:`refresh_as_of`.

        Parameters
        ----------
        history : EventFrame
            All the events of the customers of ``newest`` (others' events are ignored).
        newest : mapping
            ``customer_id -> POSIX seconds`` of that customer's newest new event.
        contacts : mapping, optional
            Service contacts per customer (cost to serve, as the job counts them); missing = 0.
        recommend : callable, optional
            ``customer_id -> item ids``; gives cross-sell actions their items.

        Returns
        -------
        dict
            ``customer_id -> row`` of those with a purchase before their refresh time.

        Notes
        -----
        The models only see whole days, so customers whose refresh times fall on the same
        observation day are scored together in one :meth:`score_many` pass, as of the latest of
        those times (an ingested batch is usually one such day: one pass for all of it).
        """
        groups: dict[int, list[str]] = defaultdict(list)
        for cid in newest:
            groups[observation_end_day(self.refresh_as_of(newest[cid]))].append(cid)
        out: dict[str, dict[str, Any]] = {}
        for members in groups.values():
            as_of = max(self.refresh_as_of(newest[cid]) for cid in members)
            frame = history.select(np.isin(history.customer_id, np.array(members, dtype=object)))
            out.update(self.score_many(frame, as_of, contacts=contacts, recommend=recommend))
        return out

    def windows(self) -> list[float]:
        """The windows a requirement is stated in, shortest first: the next-tier window, then
        the run-rate window and the horizon when longer (where the run rate is known)."""
        cfg = self.config
        w0 = cfg.next_tier_window_days
        return [w0, *sorted({w for w in (cfg.runrate_days, cfg.horizon_days) if w > w0})]

    def reach(
        self,
        customer_id: str,
        history: EventFrame,
        as_of: datetime | float,
        target: str,
        *,
        contacts: float = 0.0,
    ) -> Iterator[dict[str, Any]] | None:
        """What reaching ``target`` ("standard" or "MVC") takes ``customer_id``, in each of
        :meth:`windows`, lazily (the first window often settles it): the fewest more purchases
        of their usual size (None: more than ``next_tier_max_purchases``), the smallest
        one-purchase spend (None: none suffices), and the customer's own pace in that window —
        purchases the model expects and spend at the larger of that and their recent run rate.
        None when they have no purchase before ``as_of``.
        """
        mine = history.select(history.customer_id == customer_id)
        s = summarize_for(mine, as_timestamp(as_of), self.config)
        if len(s) == 0:
            return None
        return self._windows_of(s, target, np.full(1, float(contacts)))

    def _windows_of(
        self, s: CustomerSummary, target: str, contacts: np.ndarray
    ) -> Iterator[dict[str, Any]]:
        cfg = self.config
        mt = population_metrics(s, self._models, contacts)
        typical = float(mt["gross_spend"][0])
        # Every purchase count at once: the customer repeated once per count, one vectorised
        # evaluation instead of a bisection's sequential ones.
        top = cfg.next_tier_max_purchases
        many = s.take(np.zeros(top, dtype=np.int64))
        counts = np.arange(1, top + 1, dtype=np.float64)
        for w in self.windows():
            after_k, _ = value_after(
                many, self._models, np.repeat(contacts, top), np.full(top, typical), w
            )
            ok = self.tiers.reaches(target, *after_k(counts))
            _, after_s = value_after(s, self._models, contacts, mt["gross_spend"], w)
            spend = self.tiers.min_spend(target, 1, after_s)
            expected = self.transaction_model.expected_purchases(
                cfg.units(w), s.frequency, s.recency, s.T
            )
            pace_k, pace_spend = pace(expected[:1], mt["rate"][:1], mt["gross_spend"][:1], w)
            yield {
                "within_days": w,
                "purchases": int(np.argmax(ok)) + 1 if ok.any() else None,
                "spend": float(spend[0]) if np.isfinite(spend[0]) else None,
                "typical_spend": typical,
                "pace_purchases": float(pace_k[0]),
                "pace_spend": float(pace_spend[0]),
            }

    # -- answers built on rows -----------------------------------------------------------------
    def at_horizon(self, row: Mapping[str, Any], horizon_days: float) -> dict[str, Any]:
        """``row`` with ``clv`` and ``predicted_purchases`` over ``horizon_days`` instead.

        The row's history and ``as_of`` give x, t_x and T in the model's time unit exactly as
        the job computed them, and its ``expected_spend`` is kept; ``tier``, ``net_value`` and
        the actions stay those of the configured horizon (they are decided on it).

        Raises
        ------
        ValueError
            ``row`` has no purchase history (a :meth:`no_purchases` answer).
        """
        hist = row.get("history")
        if hist is None or row.get("as_of") is None:
            raise ValueError("at_horizon: the row has no purchase history to project")
        cfg = self.config
        unit = cfg.time_unit_days
        first = parse_iso(hist["first_purchase"]) / DAY
        last = parse_iso(hist["last_purchase"]) / DAY
        end = observation_end_day(parse_iso(row["as_of"]))
        x = np.array([float(hist["purchases"] - 1)])
        tx = np.array([(last - first) / unit])
        T = np.array([(end - first) / unit])
        horizon = cfg.units(horizon_days)
        predicted = self.transaction_model.expected_purchases(horizon, x, tx, T)
        clv = self.transaction_model.clv(
            x,
            tx,
            T,
            np.array([float(row["expected_spend"])]),
            horizon=horizon,
            discount_rate=cfg.discount_rate,
            margin=cfg.margin,
            step=cfg.units(cfg.clv_step_days),
            time_unit_days=unit,
        )
        value = float(clv[0])
        w = self._models.blend_weight
        if w < 1.0 and row.get("run_rate") is not None:
            days = discount_annuity(horizon_days, cfg.discount_rate, cfg.clv_step_days)
            value = w * value + (1.0 - w) * cfg.margin * float(row["run_rate"]) * days
        return {
            **row,
            "clv": value,
            "predicted_purchases": float(predicted[0]),
            "horizon_days": horizon_days,
        }

    def no_purchases(self, customer_id: str) -> dict[str, Any]:
        """The answer for a known customer without any purchase yet (cold start).

        Tier ``standard``, lifecycle ``exploration``, null figures, a cross-sell action to win
        the first purchase, and in ``next_tier`` what the first purchases must be to reach MVC
        (worked out once per run on a typical first-time buyer). The run's ``computed_at`` is
        the caller's to add: the scorer does not know when its run was made.
        """
        return {
            "customer_id": customer_id,
            "status": "no_purchases",
            "tier": "standard",
            "clv": None,
            "predicted_purchases": None,
            "expected_spend": None,
            "net_value": None,
            "p_alive": None,
            "churn_risk": None,
            "lifecycle_stage": "exploration",
            "rfm": {"r": None, "f": None, "m": None},
            "next_best_action": {
                "action": "cross_sell",
                "reason": "no purchase yet: win a first purchase with relevant offers",
                "priority": 0.0,
            },
            "next_tier": self._first_purchase_next_tier(),
            "horizon_days": None,
            "history": None,
            "as_of": None,
        }

    def _first_purchase_next_tier(self) -> dict[str, Any]:
        """What MVC takes from no purchase: a typical first purchase just before the run's as_of,
        scored once (concurrent first calls may both compute it; they agree)."""
        if self._first_purchase is not None:
            return self._first_purchase
        value = self.fallback_spend
        frame = EventFrame.from_events(
            [Event("typical", "typical", "purchase", self.as_of - REFRESH_MOMENT_S, value=value)]
        )
        s = summarize_for(frame, self.as_of, self.config)
        (row,), _ = score_rows(s, self._models, self.tiers, self.rfm, np.zeros(1), None, 0.0)
        typical = f"a first purchase (a typical one is worth {value:.2f})"
        nxt = row["next_tier"]
        answer: dict[str, Any]
        if row["tier"] == "MVC":
            answer = {"tier": "MVC", "requirement": typical, "purchases": 1}
        elif nxt is not None and nxt["tier"] == "MVC":
            answer = {
                "tier": "MVC",
                "requirement": f"{typical}, then {nxt['requirement']}",
                "reachable": nxt["reachable"],
                "purchases": None if nxt["purchases"] is None else nxt["purchases"] + 1,
                "spend": None,
                "within_days": nxt["within_days"],
            }
        else:
            answer = {
                "tier": "MVC",
                "requirement": f"{typical}; a typical first-time buyer is {row['tier']}, and "
                "what MVC then takes follows from that first purchase",
            }
        self._first_purchase = answer
        return answer

    def __repr__(self) -> str:
        return (
            f"CustomerValueScorer(model={self.config.model!r}, "
            f"as_of={iso_utc(self.as_of)!r}, horizon_days={self.config.horizon_days})"
        )


def refresh_customer(
    state: Mapping[str, Any],
    history: EventFrame,
    as_of: datetime | float,
    *,
    customer_id: str | None = None,
    contacts: float = 0.0,
    recommend: Recommender | None = None,
) -> dict[str, Any] | None:
    """One customer's insights row from fixed parameters (``InsightsResult.state``).

    Called when a purchase (or return) event arrives: ``history`` holds that customer's
    ``purchase``/``return`` events (others are ignored; with ``customer_id`` given, other customers'
    events are too), ``as_of`` is usually the new event's time plus a moment. It parses ``state``
    on every call: to score many customers, or often, keep a
    :class:`CustomerValueScorer` of the run and use it directly (this
    function is a shortcut through it, so both give the same rows).

    Returns
    -------
    dict or None
        None when the customer has no purchase before ``as_of``; otherwise the row::

            {"customer_id", "tier": "MVC"|"MGC"|"standard"|"BZ", "clv", "net_value",
             "predicted_purchases", "expected_spend", "p_alive", "churn_risk",
             "lifecycle_stage": "exploration"|"formation"|"stable"|"decline",
             "rfm": {"r", "f", "m"},
             "next_best_action": {"action", "reason", "priority", "items"?},
             "next_tier": {"tier", "requirement", "purchases", "spend", "within_days"} | None,
             "horizon_days", "history": {"purchases", "first_purchase", "last_purchase",
             "revenue", "returned"}, "as_of", "computed_at"}
    """
    scorer = CustomerValueScorer.from_state(state)
    t_as_of = as_timestamp(as_of)
    if customer_id is None:
        bought = (history.type == "purchase") & (history.timestamp < t_as_of)
        buyers = np.unique(history.customer_id[bought].astype(str))
        if buyers.shape[0] == 0:
            return None
        if buyers.shape[0] > 1:
            raise ValueError("refresh_customer: history holds several customers; pass customer_id")
        customer_id = str(buyers[0])
    return scorer.score(customer_id, history, t_as_of, contacts=contacts, recommend=recommend)
