"""The scoring path shared by the customer-value job, the refresh and serving: fitted models
applied to purchase summaries, giving each customer's row.

:func:`training.insights.compute_insights` fits the models, then scores the whole population
with :func:`score_rows`; :class:`insights.scoring.CustomerValueScorer` scores customers again
through the same function with the parameters fixed, so a refreshed row equals the job's row for
the same events and ``as_of``.

Examples
--------
>>> iso_utc(0.0), parse_iso("1970-01-02T00:00:00Z")
('1970-01-01T00:00:00Z', 86400.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from core.records import EventFrame
from insights.actions import Recommender, next_best_action
from insights.bgnbd import _BuyTillYouDie
from insights.config import ValueConfig
from insights.gamma_gamma import GammaGammaModel
from insights.lifecycle import lifecycle_stage, purchase_trend
from insights.reach import pace
from insights.rfm import RFMScorer
from insights.summary import CustomerSummary, summarize
from insights.tiers import ValueFn, ValueTiers
from insights.validation import ActivityModel, activity_features, discount_annuity


def iso_utc(ts: float) -> str:
    """POSIX seconds as the rows' ISO 8601 text (``...Z``)."""
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def parse_iso(iso: str) -> float:
    """The rows' ISO 8601 text back to POSIX seconds."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@dataclass(slots=True)
class ValueModels:
    """One run's fitted models: purchase counts, spend (None: ``fallback_spend`` per order), the
    weight of the model's CLV against the run-rate CLV and the activity model (None: the
    purchase-count model's P(alive)), both learned on the validation window."""

    cfg: ValueConfig
    tm: _BuyTillYouDie
    gg: GammaGammaModel | None
    fallback_spend: float
    blend_weight: float = 1.0
    activity: ActivityModel | None = None

    def runrate_clv(self, run_rate: np.ndarray) -> np.ndarray:
        """The margin of spending ``run_rate`` a day over the horizon, discounted like CLV."""
        cfg = self.cfg
        days = discount_annuity(cfg.horizon_days, cfg.discount_rate, cfg.clv_step_days)
        return np.asarray(cfg.margin * run_rate * days)

    def p_active(
        self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, p_alive_model: np.ndarray
    ) -> np.ndarray:
        """The row's ``p_alive``: the activity model's probability, else the model's P(alive)."""
        if self.activity is None:
            return p_alive_model
        cfg = self.cfg
        window = cfg.units(cfg.validation_days)
        p_buy = 1.0 - self.tm.p_no_purchase(window, x, tx, T)
        unit = cfg.time_unit_days
        return self.activity.predict(activity_features(x, (T - tx) * unit, T * unit, p_buy))


def run_rate(s: CustomerSummary, cfg: ValueConfig) -> np.ndarray:
    """Each customer's net spend per day over the last ``runrate_days``."""
    return np.asarray(s.runrate_revenue * (1.0 - s.return_rate) / cfg.runrate_days)


def _expected_spend(models: ValueModels, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    if models.gg is not None:
        return models.gg.conditional_expected_spend(x, m)
    return np.full(x.shape, models.fallback_spend)


def _cost_to_serve(
    cfg: ValueConfig,
    predicted: np.ndarray,
    purchase_days: np.ndarray,
    n_returns: np.ndarray,
    contacts: np.ndarray,
    age_days: np.ndarray,
) -> np.ndarray:
    c = cfg.cost_to_serve
    years = cfg.horizon_days / 365.0
    returns_per_order = n_returns / np.maximum(purchase_days, 1.0)
    contacts_per_year = contacts * 365.0 / np.maximum(age_days, c.contact_floor_days)
    return np.asarray(
        c.per_customer_year * years
        + c.per_order * predicted
        + c.per_return * returns_per_order * predicted
        + c.per_contact * contacts_per_year * years
    )


def customer_value(
    models: ValueModels,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    monetary: np.ndarray,
    return_rate: np.ndarray,
    n_returns: np.ndarray,
    contacts: np.ndarray,
    rate: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(clv, net value, predicted purchases, net expected spend) over the horizon.

    ``clv`` is the run's blend of the model's CLV and the run-rate CLV of ``rate`` (net spend
    per day; None: the model's CLV alone).
    """
    clv_model, predicted, spend, cost = _model_value(
        models, x, tx, T, monetary, return_rate, n_returns, contacts
    )
    clv = clv_model
    if rate is not None and models.blend_weight < 1.0:
        w = models.blend_weight
        clv = w * clv_model + (1.0 - w) * models.runrate_clv(rate)
    return clv, clv - cost, predicted, spend


def _model_value(
    models: ValueModels,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    monetary: np.ndarray,
    return_rate: np.ndarray,
    n_returns: np.ndarray,
    contacts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(model CLV, predicted purchases, net expected spend, cost to serve) over the horizon."""
    cfg = models.cfg
    spend = _expected_spend(models, x, monetary) * (1.0 - return_rate)
    predicted = models.tm.expected_purchases(cfg.horizon_units, x, tx, T)
    clv = models.tm.clv(
        x,
        tx,
        T,
        spend,
        horizon=cfg.horizon_units,
        discount_rate=cfg.discount_rate,
        margin=cfg.margin,
        step=cfg.units(cfg.clv_step_days),
        time_unit_days=cfg.time_unit_days,
    )
    cost = _cost_to_serve(cfg, predicted, x + 1, n_returns, contacts, T * cfg.time_unit_days)
    return clv, predicted, spend, cost


def population_metrics(
    s: CustomerSummary, models: ValueModels, contacts: np.ndarray
) -> dict[str, np.ndarray]:
    """Model figures of every customer of ``s``: value, cost, aliveness, growth."""
    cfg = models.cfg
    x, tx, T, m = s.frequency, s.recency, s.T, s.monetary
    rate = run_rate(s, cfg)
    clv_model, predicted, spend, _ = _model_value(
        models, x, tx, T, m, s.return_rate, s.n_returns, contacts
    )
    clv, net, _, _ = customer_value(models, x, tx, T, m, s.return_rate, s.n_returns, contacts, rate)
    p_alive = models.tm.p_alive(x, tx, T)
    next_window = models.tm.expected_purchases(cfg.units(cfg.growth_window_days), x, tx, T)
    past = s.recent_revenue * (1.0 - s.return_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(past > 0, next_window * spend / past, np.nan)
    return {
        "clv": clv,
        "clv_model": clv_model,
        "rate": rate,
        "net": net,
        "predicted": predicted,
        "spend": spend,
        "gross_spend": _expected_spend(models, x, m),
        "p_alive": p_alive,
        "p_active": models.p_active(x, tx, T, p_alive),
        "churn": models.tm.p_no_purchase(cfg.units(cfg.churn_horizon_days), x, tx, T),
        "growth": growth,
    }


def value_after(
    s: CustomerSummary,
    models: ValueModels,
    contacts: np.ndarray,
    gross_spend: np.ndarray,
    window_days: float,
) -> tuple[ValueFn, ValueFn]:
    """What each customer of ``s`` would be worth ``window_days`` from now: after ``k`` more
    purchases of their usual size (``gross_spend``), or after one more purchase worth ``amount``,
    the last one made at the window's end (the least favourable moment). Both give
    ``(clv, net value)`` arrays, as :meth:`insights.tiers.ValueTiers.next_tier` wants them."""
    cfg = models.cfg
    x, tx, T, m, rr = s.frequency, s.recency, s.T, s.monetary, s.return_rate
    T_after = T + cfg.units(window_days)
    # The run rate at the window's end: what of today's run-rate window is still in it then
    # (summarised for the next-tier window; nothing of it once the window covers it all),
    # plus the new purchases.
    per_day = (1.0 - rr) / cfg.runrate_days
    if window_days >= cfg.runrate_days:
        tail_rate = np.zeros_like(x)
    elif window_days == cfg.next_tier_window_days:
        tail_rate = s.runrate_tail * per_day
    else:
        raise ValueError(
            f"value_after: the run rate's tail is known for {cfg.next_tier_window_days} days "
            f"and for windows of at least {cfg.runrate_days}, not {window_days}"
        )

    def after_purchases(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xk = x + k
        with np.errstate(divide="ignore", invalid="ignore"):
            mk = np.where(xk > 0, (x * m + k * gross_spend) / xk, 0.0)
        txk = np.where(k > 0, T_after, tx)
        rk = tail_rate + k * gross_spend * per_day
        c, nv, _, _ = customer_value(models, xk, txk, T_after, mk, rr, s.n_returns, contacts, rk)
        return c, nv

    def after_spend(amount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x1 = x + 1
        m1 = (x * m + amount) / x1
        r1 = tail_rate + amount * per_day
        c, nv, _, _ = customer_value(
            models, x1, T_after, T_after, m1, rr, s.n_returns, contacts, r1
        )
        return c, nv

    return after_purchases, after_spend


def tiers_and_stages(
    s: CustomerSummary, cfg: ValueConfig, tiers: ValueTiers, mt: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's tier and lifecycle stage (``mt``: :func:`population_metrics`'s)."""
    tier = tiers.predict(mt["clv"], mt["net"], mt["gross_spend"], mt["p_alive"], mt["growth"])
    trend = purchase_trend(
        s.frequency, s.T, s.recent_repeat, s.trend_window, cfg.trend_min_expected
    )
    age_days = s.T * cfg.time_unit_days
    stage = lifecycle_stage(s.frequency, age_days, mt["p_alive"], mt["churn"], trend, cfg)
    return tier, stage


def score_rows(
    s: CustomerSummary,
    models: ValueModels,
    tiers: ValueTiers,
    rfm: RFMScorer,
    contacts: np.ndarray,
    recommend: Recommender | None,
    computed_at: float,
    metrics: dict[str, np.ndarray] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Rows for every customer of ``s`` (fitted tiers and RFM edges given)."""
    cfg = models.cfg
    x, T = s.frequency, s.T
    mt = metrics if metrics is not None else population_metrics(s, models, contacts)
    clv, net, predicted, spend = mt["clv"], mt["net"], mt["predicted"], mt["spend"]
    gross_spend, p_alive, churn = mt["gross_spend"], mt["p_alive"], mt["churn"]
    tier, stage = tiers_and_stages(s, cfg, tiers, mt)
    headroom = tiers.peer_potential(gross_spend) - clv
    scores = rfm.transform(s.days_since_last, x + 1, s.order_value)

    after_purchases, after_spend = value_after(
        s, models, contacts, gross_spend, cfg.next_tier_window_days
    )
    # Only routes within the customer's reach are stated (as for withheld perks).
    w0 = cfg.next_tier_window_days
    expected = models.tm.expected_purchases(cfg.units(w0), x, s.recency, T)
    pace_k, pace_spend = pace(expected, mt["rate"], gross_spend, w0)
    nxt = tiers.next_tier(
        tier,
        after_purchases,
        after_spend,
        window_days=w0,
        max_purchases=cfg.next_tier_max_purchases,
        pace=(gross_spend, pace_k, pace_spend),
    )
    mvc_clv = float(tiers.thresholds_["mvc_clv"])
    as_of_iso = iso_utc(s.as_of)
    computed_iso = iso_utc(computed_at)
    rows: list[dict[str, Any]] = []
    for i, cid in enumerate(s.customer_id):
        action = next_best_action(
            str(cid),
            str(tier[i]),
            str(stage[i]),
            clv=float(clv[i]),
            p_alive=float(p_alive[i]),
            churn_risk=float(churn[i]),
            headroom=float(headroom[i]),
            net_value=float(net[i]),
            mvc_clv=mvc_clv,
            upgrade_uplift=cfg.upgrade_uplift,
            recommend=recommend,
        )
        rows.append(
            {
                "customer_id": str(cid),
                "tier": str(tier[i]),
                "clv": float(clv[i]),
                "net_value": float(net[i]),
                "predicted_purchases": float(predicted[i]),
                "expected_spend": float(spend[i]),
                "clv_model": float(mt["clv_model"][i]),
                "run_rate": float(mt["rate"][i]),
                "p_alive": float(mt["p_active"][i]),
                "p_alive_model": float(p_alive[i]),
                "churn_risk": float(churn[i]),
                "lifecycle_stage": str(stage[i]),
                "rfm": {"r": int(scores[i, 0]), "f": int(scores[i, 1]), "m": int(scores[i, 2])},
                "next_best_action": action,
                "next_tier": nxt[i],
                "horizon_days": cfg.horizon_days,
                "history": {
                    "purchases": int(x[i]) + 1,
                    "first_purchase": iso_utc(float(s.first_purchase[i])),
                    "last_purchase": iso_utc(float(s.last_purchase[i])),
                    "revenue": float(s.revenue[i]),
                    "returned": float(s.returned[i]),
                },
                "as_of": as_of_iso,
                "computed_at": computed_iso,
            }
        )
    arrays = {"tier": tier, "stage": stage, "clv": clv, "net_revenue": s.net_revenue}
    return rows, arrays


def summarize_for(frame: EventFrame, as_of: float, cfg: ValueConfig) -> CustomerSummary:
    """The purchase summaries of ``frame`` before ``as_of`` in the configuration's time unit."""
    return summarize(
        frame,
        as_of,
        time_unit_days=cfg.time_unit_days,
        trend_days=cfg.trend_days,
        recent_days=cfg.growth_window_days,
        runrate_days=cfg.runrate_days,
        runrate_tail_days=max(cfg.runrate_days - cfg.next_tier_window_days, 0.0),
    )


def contacts_array(ids: np.ndarray, contacts: Mapping[str, float] | None) -> np.ndarray:
    """Service contacts per customer of ``ids`` (missing = 0), for the cost to serve."""
    if not contacts:
        return np.zeros(ids.shape[0])
    return np.array([float(contacts.get(str(c), 0.0)) for c in ids])
