"""The customer-value batch job and the per-customer refresh that serving uses between runs.

:func:`compute_insights` fits the purchase-count model (BG/NBD or MBG/NBD) and Gamma-Gamma on the
events before ``as_of``, fits the tier thresholds and RFM edges on the population, and scores every
customer. Everything needed to score one customer again — parameters, thresholds, RFM edges,
configuration — is kept in ``InsightsResult.state`` (plain JSON), so that when a purchase arrives
:func:`refresh_customer` recomputes that customer's row at once with the parameters fixed; batch
and refresh share one scoring function, so they agree exactly.

Examples
--------
>>> from datetime import datetime, UTC
>>> from training.datasets import cdnow                                   # doctest: +SKIP
>>> res = compute_insights(cdnow(), datetime(1997, 10, 1, tzinfo=UTC),
...                        ValueConfig(time_unit_days=7))                 # doctest: +SKIP
>>> res.model["transaction_model"]["params"]["r"]                         # doctest: +SKIP
0.2426
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from store.records import EventFrame
from training.value.actions import Recommender, next_best_action
from training.value.bgnbd import TRANSACTION_MODELS, _BuyTillYouDie, transaction_model_from_dict
from training.value.config import ValueConfig
from training.value.gamma_gamma import GammaGammaModel
from training.value.lifecycle import STAGES, lifecycle_stage, purchase_trend
from training.value.pareto import pareto_report
from training.value.rfm import RFMScorer
from training.value.summary import DAY, CustomerSummary, as_timestamp, summarize
from training.value.tiers import TIERS, ValueTiers

#: Repeat buyers needed to fit Gamma-Gamma; below it spend is the population's mean order value.
MIN_SPEND_CUSTOMERS = 10


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


def _iso_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).date().isoformat()


@dataclass(slots=True)
class InsightsResult:
    """Output of :func:`compute_insights`.

    ``state`` is what :func:`refresh_customer` needs; ``model`` answers ``GET /v1/insights/model``,
    ``pareto`` ``GET /v1/insights/pareto``, ``segments`` ``GET /v1/insights/segments``; ``rows``
    maps each customer id to their insights row (see :func:`refresh_customer` for its shape).
    """

    as_of: float
    computed_at: float
    state: dict[str, Any]
    model: dict[str, Any]
    pareto: dict[str, Any]
    segments: dict[str, Any]
    rows: dict[str, dict[str, Any]] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the rows, as JSON-able data (what ``store.put_insights`` keeps)."""
        return {
            "as_of": _iso(self.as_of),
            "computed_at": _iso(self.computed_at),
            "state": self.state,
            "model": self.model,
            "pareto": self.pareto,
            "segments": self.segments,
        }

    def account_manager_list(self, customer_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Rows (of ``customer_ids``, default all) ordered by what to do first."""
        ids = list(self.rows) if customer_ids is None else customer_ids
        return order_for_action([self.rows[c] for c in ids if c in self.rows])


def order_for_action(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sort insights rows by next-best-action priority (money at stake), highest first.

    Ties (e.g. all self-service at 0) are broken by churn risk, then CLV, then customer id.
    """
    return sorted(
        rows,
        key=lambda r: (
            -r["next_best_action"]["priority"],
            -r["churn_risk"],
            -r["clv"],
            r["customer_id"],
        ),
    )


@dataclass(slots=True)
class _Models:
    cfg: ValueConfig
    tm: _BuyTillYouDie
    gg: GammaGammaModel | None
    fallback_spend: float


def _expected_spend(models: _Models, x: np.ndarray, m: np.ndarray) -> np.ndarray:
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


def _value(
    models: _Models,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    monetary: np.ndarray,
    return_rate: np.ndarray,
    n_returns: np.ndarray,
    contacts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(clv, net value, predicted purchases, net expected spend) over the horizon."""
    cfg = models.cfg
    spend = _expected_spend(models, x, monetary) * (1.0 - return_rate)
    predicted = models.tm.expected_purchases(cfg.horizon_units, x, tx, T)
    clv = models.tm.clv(
        x, tx, T, spend,
        horizon=cfg.horizon_units,
        discount_rate=cfg.discount_rate,
        margin=cfg.margin,
        step=cfg.units(cfg.clv_step_days),
        time_unit_days=cfg.time_unit_days,
    )
    cost = _cost_to_serve(cfg, predicted, x + 1, n_returns, contacts, T * cfg.time_unit_days)
    return clv, clv - cost, predicted, spend


def _metrics(
    s: CustomerSummary, models: _Models, contacts: np.ndarray
) -> dict[str, np.ndarray]:
    """Model figures of every customer of ``s``: value, cost, aliveness, growth."""
    cfg = models.cfg
    x, tx, T, m = s.frequency, s.recency, s.T, s.monetary
    clv, net, predicted, spend = _value(
        models, x, tx, T, m, s.return_rate, s.n_returns, contacts
    )
    next_window = models.tm.expected_purchases(cfg.units(cfg.growth_window_days), x, tx, T)
    past = s.recent_revenue * (1.0 - s.return_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(past > 0, next_window * spend / past, np.nan)
    return {
        "clv": clv,
        "net": net,
        "predicted": predicted,
        "spend": spend,
        "gross_spend": _expected_spend(models, x, m),
        "p_alive": models.tm.p_alive(x, tx, T),
        "churn": models.tm.p_no_purchase(cfg.units(cfg.churn_horizon_days), x, tx, T),
        "growth": growth,
    }


def _score(
    s: CustomerSummary,
    models: _Models,
    tiers: ValueTiers,
    rfm: RFMScorer,
    contacts: np.ndarray,
    recommend: Recommender | None,
    computed_at: float,
    metrics: dict[str, np.ndarray] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Rows for every customer of ``s`` (fitted tiers and RFM edges given)."""
    cfg = models.cfg
    x, tx, T, m = s.frequency, s.recency, s.T, s.monetary
    rr = s.return_rate
    mt = metrics if metrics is not None else _metrics(s, models, contacts)
    clv, net, predicted, spend = mt["clv"], mt["net"], mt["predicted"], mt["spend"]
    gross_spend, p_alive, churn = mt["gross_spend"], mt["p_alive"], mt["churn"]
    tier = tiers.predict(clv, net, gross_spend, p_alive, mt["growth"])
    headroom = tiers.peer_potential(gross_spend) - clv

    trend = purchase_trend(x, T, s.recent_repeat, s.trend_window, cfg.trend_min_expected)
    age_days = T * cfg.time_unit_days
    stage = lifecycle_stage(x, age_days, p_alive, churn, trend, cfg)
    scores = rfm.transform(s.days_since_last, x + 1, s.order_value)

    W = cfg.units(cfg.next_tier_window_days)
    T_after = T + W

    def after_purchases(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xk = x + k
        with np.errstate(divide="ignore", invalid="ignore"):
            mk = np.where(xk > 0, (x * m + k * gross_spend) / xk, 0.0)
        txk = np.where(k > 0, T_after, tx)
        c, nv, _, _ = _value(models, xk, txk, T_after, mk, rr, s.n_returns, contacts)
        return c, nv

    def after_spend(amount: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x1 = x + 1
        m1 = (x * m + amount) / x1
        c, nv, _, _ = _value(models, x1, T_after, T_after, m1, rr, s.n_returns, contacts)
        return c, nv

    nxt = tiers.next_tier(
        tier, after_purchases, after_spend,
        window_days=cfg.next_tier_window_days, max_purchases=cfg.next_tier_max_purchases,
    )
    mvc_clv = float(tiers.thresholds_["mvc_clv"])
    as_of_iso = _iso(s.as_of)
    computed_iso = _iso(computed_at)
    rows: list[dict[str, Any]] = []
    for i, cid in enumerate(s.customer_id):
        action = next_best_action(
            str(cid), str(tier[i]), str(stage[i]),
            clv=float(clv[i]), p_alive=float(p_alive[i]), churn_risk=float(churn[i]),
            headroom=float(headroom[i]), net_value=float(net[i]), mvc_clv=mvc_clv,
            upgrade_uplift=cfg.upgrade_uplift, recommend=recommend,
        )
        rows.append({
            "customer_id": str(cid),
            "tier": str(tier[i]),
            "clv": float(clv[i]),
            "net_value": float(net[i]),
            "predicted_purchases": float(predicted[i]),
            "expected_spend": float(spend[i]),
            "p_alive": float(p_alive[i]),
            "churn_risk": float(churn[i]),
            "lifecycle_stage": str(stage[i]),
            "rfm": {"r": int(scores[i, 0]), "f": int(scores[i, 1]), "m": int(scores[i, 2])},
            "next_best_action": action,
            "next_tier": nxt[i],
            "horizon_days": cfg.horizon_days,
            "history": {
                "purchases": int(x[i]) + 1,
                "first_purchase": _iso(float(s.first_purchase[i])),
                "last_purchase": _iso(float(s.last_purchase[i])),
                "revenue": float(s.revenue[i]),
                "returned": float(s.returned[i]),
            },
            "as_of": as_of_iso,
            "computed_at": computed_iso,
        })
    arrays = {"tier": tier, "stage": stage, "clv": clv, "net_revenue": s.net_revenue}
    return rows, arrays


def _summarize(frame: EventFrame, as_of: float, cfg: ValueConfig) -> CustomerSummary:
    return summarize(
        frame, as_of,
        time_unit_days=cfg.time_unit_days,
        trend_days=cfg.trend_days,
        recent_days=cfg.growth_window_days,
    )


def _contacts_array(ids: np.ndarray, contacts: Mapping[str, float] | None) -> np.ndarray:
    if not contacts:
        return np.zeros(ids.shape[0])
    return np.array([float(contacts.get(str(c), 0.0)) for c in ids])


def compute_insights(
    frame: EventFrame,
    as_of: datetime | float,
    config: ValueConfig | None = None,
    *,
    contacts: Mapping[str, float] | None = None,
    recommend: Recommender | None = None,
) -> InsightsResult:
    """Fit the value models on the events before ``as_of`` and score every customer.

    Parameters
    ----------
    frame : EventFrame
        The tenant's ``purchase`` and ``return`` events (others are ignored).
    as_of : datetime or float
        End of the calibration period (exclusive); a naive datetime is UTC.
    config : ValueConfig
        Per-tenant knobs; defaults documented in :mod:`training.value.config`.
    contacts : mapping, optional
        Service contacts per customer before ``as_of`` (cost to serve); missing = 0.
    recommend : callable, optional
        ``customer_id -> item ids``; gives cross-sell actions their items.

    Raises
    ------
    ValueError
        Fewer than ``config.min_customers`` customers with purchases before ``as_of``.
    """
    cfg = config or ValueConfig()
    t_as_of = as_timestamp(as_of)
    s = _summarize(frame, t_as_of, cfg)
    if len(s) < cfg.min_customers:
        raise ValueError(
            f"{len(s)} customers with purchases before {_iso(t_as_of)}; "
            f"at least {cfg.min_customers} are needed to fit the value models"
        )
    tm = TRANSACTION_MODELS[cfg.model](penalizer=cfg.penalizer).fit(s.frequency, s.recency, s.T)
    repeaters = int(np.sum((s.frequency > 0) & (s.monetary > 0)))
    gg: GammaGammaModel | None = None
    if repeaters >= MIN_SPEND_CUSTOMERS:
        gg = GammaGammaModel(penalizer=cfg.spend_penalizer).fit(s.frequency, s.monetary)
    else:
        warnings.warn(
            f"only {repeaters} repeat buyers: spend is the mean order value, not Gamma-Gamma",
            RuntimeWarning,
            stacklevel=2,
        )
    fallback = float(np.mean(s.order_value))
    models = _Models(cfg, tm, gg, fallback)

    contacts_arr = _contacts_array(s.customer_id, contacts)
    mt = _metrics(s, models, contacts_arr)
    tiers = ValueTiers(
        mvc_share=cfg.mvc_share,
        mgc_sow_max=cfg.mgc_sow_max,
        mgc_potential_quantile=cfg.mgc_potential_quantile,
        mgc_growth_min=cfg.mgc_growth_min,
        mgc_min_p_alive=cfg.mgc_min_p_alive,
        mgc_min_headroom_share=cfg.mgc_min_headroom_share,
        peer_bands=cfg.peer_bands,
        mgc_share=cfg.mgc_share,
    ).fit(mt["clv"], mt["gross_spend"], mt["net"], mt["p_alive"], mt["growth"])
    rfm = RFMScorer().fit(s.days_since_last, s.frequency + 1, s.order_value)

    computed_at = time.time()
    rows, arrays = _score(s, models, tiers, rfm, contacts_arr, recommend, computed_at, mt)

    calibration = {
        "start": _iso_day(float(s.first_purchase.min())),
        "end": _iso_day(float(t_as_of - 1.0)),
        "as_of": _iso(t_as_of),
        "time_unit_days": cfg.time_unit_days,
    }
    model_report = {
        "transaction_model": tm.to_dict(),
        "spend_model": gg.to_dict() if gg is not None else None,
        "fallback_spend": fallback,
        "calibration_period": calibration,
        "n_customers": len(s),
        "time_unit_days": cfg.time_unit_days,
    }
    state = {
        "version": 1,
        "config": cfg.model_dump(mode="json"),
        "transaction_model": tm.to_dict(),
        "spend_model": gg.to_dict() if gg is not None else None,
        "fallback_spend": fallback,
        "tiers": tiers.to_dict(),
        "rfm": rfm.to_dict(),
        "calibration_period": calibration,
    }
    return InsightsResult(
        as_of=t_as_of,
        computed_at=computed_at,
        state=state,
        model=model_report,
        pareto=pareto_report(s.net_revenue),
        segments=_segments(arrays),
        rows={r["customer_id"]: r for r in rows},
    )


def _segments(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    def group(labels: np.ndarray, names: tuple[str, ...]) -> dict[str, dict[str, float]]:
        out = {}
        for name in names:
            sel = labels == name
            out[name] = {
                "customers": int(sel.sum()),
                "revenue": float(arrays["net_revenue"][sel].sum()),
                "clv": float(arrays["clv"][sel].sum()),
            }
        return out

    return {
        "by_tier": group(arrays["tier"], TIERS),
        "by_lifecycle": group(arrays["stage"], STAGES),
        "n_customers": int(arrays["tier"].shape[0]),
    }


def _models_from_state(state: Mapping[str, Any]) -> tuple[_Models, ValueTiers, RFMScorer]:
    cfg = ValueConfig.model_validate(state["config"])
    tm = transaction_model_from_dict(state["transaction_model"])
    gg = GammaGammaModel.from_dict(state["spend_model"]) if state.get("spend_model") else None
    models = _Models(cfg, tm, gg, float(state["fallback_spend"]))
    return models, ValueTiers.from_dict(state["tiers"]), RFMScorer.from_dict(state["rfm"])


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
    events are too), ``as_of`` is usually the new event's time plus a moment.

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
    models, tiers, rfm = _models_from_state(state)
    frame = history
    if customer_id is not None:
        frame = history.select(history.customer_id == customer_id)
    s = _summarize(frame, as_timestamp(as_of), models.cfg)
    if len(s) == 0:
        return None
    if len(s) > 1:
        raise ValueError("refresh_customer: history holds several customers; pass customer_id")
    rows, _ = _score(
        s, models, tiers, rfm, np.array([float(contacts)]), recommend, time.time()
    )
    return rows[0]


__all__ = [
    "DAY",
    "InsightsResult",
    "ValueConfig",
    "compute_insights",
    "order_for_action",
    "refresh_customer",
]
