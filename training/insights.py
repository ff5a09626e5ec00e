"""The customer-value batch job and the per-customer refresh that serving uses between runs.

:func:`compute_insights` fits the purchase-count model (BG/NBD or MBG/NBD) and Gamma-Gamma on the
events before ``as_of``, fits the tier thresholds and RFM edges on the population, and scores every
customer. Everything needed to score one customer again — parameters, thresholds, RFM edges,
configuration — is kept in ``InsightsResult.state`` (plain JSON), so that when a purchase arrives
:class:`~insights.scoring.CustomerValueScorer` (or its one-call shortcut
:func:`refresh_customer`) recomputes that customer's row at once with the parameters fixed; batch
and refresh share one scoring function (:func:`insights.rows.score_rows`), so they agree exactly.

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
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from core.records import EventFrame
from insights.actions import Recommender, order_for_action, recover_action
from insights.bgnbd import TRANSACTION_MODELS, _BuyTillYouDie
from insights.config import ValueConfig
from insights.differentiation import Population, population
from insights.gamma_gamma import GammaGammaModel
from insights.lifecycle import STAGES
from insights.pareto import pareto_report
from insights.rfm import RFMScorer
from insights.rows import (
    ValueModels,
    contacts_array,
    customer_value,
    iso_utc,
    population_metrics,
    run_rate,
    score_rows,
    summarize_for,
    tiers_and_stages,
)
from insights.scoring import VALUE_EVENT_TYPES
from insights.settings import load_value_config, with_overrides
from insights.summary import DAY, CustomerSummary, as_timestamp
from insights.tiers import TIERS, ValueTiers
from insights.validation import ActivityModel, ValueBlend, activity_features
from store.base import Store
from training.insights_inputs import dialogue_inputs, with_change

#: The row's fields kept in each customer's insights history, run by run.
HISTORY_FIELDS = (
    "tier",
    "lifecycle_stage",
    "clv",
    "net_value",
    "p_alive",
    "churn_risk",
    "needs_segment",
    "share_of_wallet",
    "wallet_estimate",
    "as_of",
)

#: Customers scored and written per step of a job run (:meth:`FittedRun.iter_rows`).
ROW_CHUNK = 20_000

#: Repeat buyers needed to fit Gamma-Gamma; below it spend is the population's mean order value.
MIN_SPEND_CUSTOMERS = 10


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
    share_of_customer: dict[str, Any] = field(default_factory=dict)
    retention: dict[str, Any] = field(default_factory=dict, repr=False)
    needs_model: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Everything but the rows, as JSON-able data (what ``store.put_insights`` keeps)."""
        return {
            "as_of": iso_utc(self.as_of),
            "computed_at": iso_utc(self.computed_at),
            "state": self.state,
            "model": self.model,
            "pareto": self.pareto,
            "segments": self.segments,
            "share_of_customer": self.share_of_customer,
            "retention": self.retention,
            "needs_model": self.needs_model,
        }

    def history(self) -> dict[str, dict[str, Any]]:
        """Each customer's entry of this run for their insights history (see
        :func:`history_entries`)."""
        return history_entries(self.rows.values(), iso_utc(self.computed_at))

    def account_manager_list(self, customer_ids: list[str] | None = None) -> list[dict[str, Any]]:
        """Rows (of ``customer_ids``, default all) ordered by what to do first."""
        ids = list(self.rows) if customer_ids is None else customer_ids
        return order_for_action([self.rows[c] for c in ids if c in self.rows])


def history_entries(rows: Iterable[dict[str, Any]], computed_at: str) -> dict[str, dict[str, Any]]:
    """Each customer's entry of a run for their insights history (tier and stage migrations):
    the figures a manager compares across runs, not the whole row."""
    out = {}
    for row in rows:
        entry = {k: row.get(k) for k in HISTORY_FIELDS if k in row}
        entry["action"] = row["next_best_action"]["action"]
        entry["computed_at"] = computed_at
        out[row["customer_id"]] = entry
    return out


@dataclass(slots=True)
class FittedRun:
    """A run fitted on the whole population, before its rows: the models, the population
    figures and the summary (``result``, without rows). :meth:`iter_rows` scores the customers
    :data:`ROW_CHUNK` at a time, so a job holds one chunk of rows as Python objects, never all."""

    s: CustomerSummary
    models: ValueModels
    tiers: ValueTiers
    rfm: RFMScorer
    contacts: np.ndarray
    metrics: dict[str, np.ndarray]
    population: Population
    result: InsightsResult

    def iter_rows(
        self, recommend: Recommender | None = None, chunk: int = ROW_CHUNK
    ) -> Iterator[list[dict[str, Any]]]:
        """Every customer's row, in id order, a list of at most ``chunk`` at a time (the same
        rows whatever ``chunk``: every figure is per customer once the run is fitted)."""
        n = len(self.s)
        for start in range(0, n, chunk):
            idx = np.arange(start, min(start + chunk, n))
            metrics = {k: v[idx] for k, v in self.metrics.items()}
            rows, _ = score_rows(
                self.s.take(idx),
                self.models,
                self.tiers,
                self.rfm,
                self.contacts[idx],
                recommend,
                self.result.computed_at,
                metrics,
            )
            self.population.add_to(rows, idx)
            yield rows


def compute_insights(
    frame: EventFrame,
    as_of: datetime | float,
    config: ValueConfig | None = None,
    *,
    contacts: Mapping[str, float] | None = None,
    recommend: Recommender | None = None,
    item_category: Mapping[str, str] | None = None,
    declared_wallets: Mapping[str, float] | None = None,
) -> InsightsResult:
    """Fit the value models on the events before ``as_of`` and score every customer.

    Parameters
    ----------
    frame : EventFrame
        The tenant's ``purchase`` and ``return`` events (others are ignored).
    as_of : datetime or float
        End of the calibration period (exclusive); a naive datetime is UTC.
    config : ValueConfig
        Per-tenant knobs; defaults documented in :mod:`insights.config`.
    contacts : mapping, optional
        Service contacts per customer before ``as_of`` (cost to serve); missing = 0.
    recommend : callable, optional
        ``customer_id -> item ids``; gives cross-sell actions their items.
    item_category : mapping, optional
        Item id -> category (the catalog's), for the needs segments' category mix.
    declared_wallets : mapping, optional
        Customer id -> the wallet (spend a year in the category) they declared in an answer.

    Raises
    ------
    ValueError
        Fewer than ``config.min_customers`` customers with purchases before ``as_of``.
    """
    fitted = fit_insights(
        frame,
        as_of,
        config,
        contacts=contacts,
        item_category=item_category,
        declared_wallets=declared_wallets,
    )
    result = fitted.result
    result.rows = {r["customer_id"]: r for rows in fitted.iter_rows(recommend) for r in rows}
    return result


def fit_insights(
    frame: EventFrame,
    as_of: datetime | float,
    config: ValueConfig | None = None,
    *,
    contacts: Mapping[str, float] | None = None,
    item_category: Mapping[str, str] | None = None,
    declared_wallets: Mapping[str, float] | None = None,
) -> FittedRun:
    """:func:`compute_insights` up to the rows: fit every model and population figure (the
    same parameters), and score nobody yet."""
    cfg = config or ValueConfig()
    t_as_of = as_timestamp(as_of)
    s = summarize_for(frame, t_as_of, cfg)
    if len(s) < cfg.min_customers:
        raise ValueError(
            f"{len(s)} customers with purchases before {iso_utc(t_as_of)}; "
            f"at least {cfg.min_customers} are needed to fit the value models"
        )
    tm = fit_transaction_model(s, cfg)
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
    validation = None
    if cfg.value_model == "validated_blend":
        validation = validate(frame, s, t_as_of, cfg)
    models = ValueModels(
        cfg,
        tm,
        gg,
        fallback,
        blend_weight=validation.blend.weight_ if validation else 1.0,
        activity=validation.activity if validation else None,
    )

    contacts_arr = contacts_array(s.customer_id, contacts)
    mt = population_metrics(s, models, contacts_arr)
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
    tier, stage = tiers_and_stages(s, cfg, tiers, mt)
    arrays = {"tier": tier, "stage": stage, "clv": mt["clv"], "net_revenue": s.net_revenue}
    found = population(
        frame,
        s,
        tier,
        mt["clv"],
        cfg,
        item_category=item_category,
        declared=declared_wallets,
    )
    summary = found.summary

    calibration = {
        "start": _iso_day(float(s.first_purchase.min())),
        "end": _iso_day(float(t_as_of - 1.0)),
        "as_of": iso_utc(t_as_of),
        "time_unit_days": cfg.time_unit_days,
    }
    model_report = {
        "transaction_model": tm.to_dict(),
        "spend_model": gg.to_dict() if gg is not None else None,
        "fallback_spend": fallback,
        "calibration_period": calibration,
        "n_customers": len(s),
        "time_unit_days": cfg.time_unit_days,
        "validation": validation.report() if validation else None,
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
        "blend_weight": models.blend_weight,
        "activity": models.activity.to_dict() if models.activity is not None else None,
    }
    result = InsightsResult(
        as_of=t_as_of,
        computed_at=computed_at,
        state=state,
        model=model_report,
        pareto={
            **pareto_report(s.net_revenue),
            "profit": profit_report(profit(s, cfg, contacts_arr)),
        },
        segments={**_segments(arrays), "by_needs": (summary["needs"] or {}).get("segments")},
        share_of_customer=summary["share_of_customer"],
        retention=summary["retention"],
        needs_model=(summary["needs"] or {}).get("model"),
        rows={},
    )
    return FittedRun(s, models, tiers, rfm, contacts_arr, mt, found, result)


def fit_transaction_model(s: CustomerSummary, cfg: ValueConfig) -> _BuyTillYouDie:
    """The purchase-count model of ``s``, fitted on each distinct (x, t_x, T) once with its
    count as weight: the same likelihood, evaluated on far fewer rows (at a million customers
    of two years, about a third as many), since customers of whole days share their triples."""
    triples = np.stack([s.frequency, s.recency, s.T], axis=1)
    unique, counts = np.unique(triples, axis=0, return_counts=True)
    model = TRANSACTION_MODELS[cfg.model](penalizer=cfg.penalizer)
    return model.fit(unique[:, 0], unique[:, 1], unique[:, 2], weights=counts)


def _fit(s: CustomerSummary, cfg: ValueConfig) -> ValueModels:
    """The purchase-count and spend models of ``s`` (spend: the mean order value when there
    are too few repeat buyers)."""
    tm = fit_transaction_model(s, cfg)
    repeaters = int(np.sum((s.frequency > 0) & (s.monetary > 0)))
    gg = None
    if repeaters >= MIN_SPEND_CUSTOMERS:
        gg = GammaGammaModel(penalizer=cfg.spend_penalizer).fit(s.frequency, s.monetary)
    return ValueModels(cfg, tm, gg, float(np.mean(s.order_value)))


@dataclass(slots=True)
class Validation:
    """What the validation window taught: the blend weight and the activity model."""

    as_of: float
    customers: int
    blend: ValueBlend
    activity: ActivityModel
    p_alive_model_spread: list[float]

    def report(self) -> dict[str, Any]:
        return {
            "as_of": iso_utc(self.as_of),
            "customers": self.customers,
            "value_blend": self.blend.to_dict(),
            "activity": self.activity.to_dict(),
            "p_alive_model_percentiles_5_50_95": self.p_alive_model_spread,
        }


def validate(
    frame: EventFrame, s: CustomerSummary, as_of: float, cfg: ValueConfig
) -> Validation | None:
    """Fit the models as of ``as_of - validation_days``, watch the window up to ``as_of`` and
    learn the blend weight and the activity model there (None when the earlier period has too
    few customers, or the window no purchase or only buyers: nothing to learn from)."""
    t_val = as_of - cfg.validation_days * DAY
    sv = summarize_for(frame, t_val, cfg)
    if len(sv) < cfg.min_customers:
        return None
    pos = np.searchsorted(s.customer_id, sv.customer_id)  # every earlier buyer is in s
    future = s.net_revenue[pos] - sv.net_revenue
    bought = s.frequency[pos] > sv.frequency
    if future.sum() <= 0 or bought.all() or not bought.any():
        return None
    models = _fit(sv, cfg)
    clv_model, _, _, _ = customer_value(
        models,
        sv.frequency,
        sv.recency,
        sv.T,
        sv.monetary,
        sv.return_rate,
        sv.n_returns,
        np.zeros(len(sv)),
    )
    blend = ValueBlend().fit(clv_model, models.runrate_clv(run_rate(sv, cfg)), future)
    window = cfg.units(cfg.validation_days)
    p_buy = 1.0 - models.tm.p_no_purchase(window, sv.frequency, sv.recency, sv.T)
    unit = cfg.time_unit_days
    features = activity_features(sv.frequency, sv.days_since_last, sv.T * unit, p_buy)
    activity = ActivityModel().fit(features, bought)
    p_model = models.tm.p_alive(sv.frequency, sv.recency, sv.T)
    spread = [round(float(v), 4) for v in np.percentile(p_model, [5, 50, 95])]
    return Validation(t_val, len(sv), blend, activity, spread)


def profit(s: CustomerSummary, cfg: ValueConfig, contacts: np.ndarray) -> np.ndarray:
    """Each customer's past profit (net value so far): margin on net revenue less what serving
    them cost — orders, returns, contacts and upkeep per year of tenure — at the tenant's costs."""
    c = cfg.cost_to_serve
    years = (s.as_of - s.first_purchase) / (365.0 * DAY)
    return np.asarray(
        cfg.margin * s.net_revenue
        - c.per_order * (s.frequency + 1)
        - c.per_return * s.n_returns
        - c.per_contact * contacts
        - c.per_customer_year * years
    )


def profit_report(values: np.ndarray) -> dict[str, Any]:
    """The profit Pareto: concentration of the profitable customers' profit, and what the
    unprofitable ones lose (their number and total loss; the curve counts them as zero)."""
    loss = values < 0
    return {
        **pareto_report(values),
        "unprofitable_customers": int(loss.sum()),
        "loss": float(-values[loss].sum()),
        "net_profit": float(values.sum()),
    }


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


def run_insights_job(
    store: Store,
    tenant: str,
    as_of: datetime | float,
    *,
    overrides: dict[str, Any] | None = None,
) -> InsightsResult:
    """The insights job of the product (``atelier insights``, the demo, the benchmarks): the
    tenant's stored value configuration (with ``overrides``), its events before ``as_of``, one
    fit, then the rows scored and staged in the store :data:`ROW_CHUNK` customers at a time
    and committed with the summary and history at once (readers see the previous run until
    then; a failed run leaves it as it was). The run records the configuration version it
    used, so every row of a run is on one version. The result's ``rows`` are empty: they are
    in the store.

    Raises
    ------
    ValueError
        Too few customers to fit, or overrides the configuration refuses.
    """
    version, stored = load_value_config(store, tenant)
    config = with_overrides(stored, overrides)
    t_as_of = as_timestamp(as_of)
    frame = store.events_frame(tenant, types=VALUE_EVENT_TYPES, before=t_as_of)
    categories = {
        item.item_id: item.category
        for item in store.iter_items(tenant, include_deleted=True)
        if item.category
    }
    said = dialogue_inputs(store, tenant, t_as_of)
    fitted = fit_insights(
        frame,
        t_as_of,
        config,
        item_category=categories,
        contacts=said.contacts,
        declared_wallets=said.wallets,
    )
    del frame, categories  # the fit is all the rows need: the events go before scoring
    result = fitted.result
    result.state["config_version"] = version
    result.model["config_version"] = version
    previous = store.get_insights_summary(tenant) or {}
    result.share_of_customer = with_change(
        result.share_of_customer,
        previous.get("share_of_customer"),
        previous.get("computed_at"),
        iso_utc(result.computed_at),
    )
    write_run(store, tenant, fitted, said.complaints)
    return result


def write_run(
    store: Store,
    tenant: str,
    fitted: FittedRun,
    complaints: Mapping[str, list[dict[str, Any]]] | None = None,
) -> None:
    """Score ``fitted``'s customers :data:`ROW_CHUNK` at a time (``recover`` first for open
    ``complaints``, as serving does), stage each chunk's rows and history entries in the
    store, and commit the run with its summary at once; a failure discards what was staged."""
    run = iso_utc(fitted.result.computed_at)
    try:
        for rows in fitted.iter_rows(chunk=ROW_CHUNK):
            for row in rows:
                cases = (complaints or {}).get(row["customer_id"])
                action = recover_action(row, cases) if cases else None
                if action is not None:
                    row["next_best_action"] = action
            chunk = {row["customer_id"]: row for row in rows}
            store.stage_insights(tenant, run, chunk, history_entries(rows, run))
        store.commit_insights(tenant, run, fitted.result.to_dict())
    except BaseException:
        store.discard_insights(tenant, run)
        raise


__all__ = [
    "DAY",
    "FittedRun",
    "InsightsResult",
    "ValueConfig",
    "compute_insights",
    "fit_insights",
    "order_for_action",
    "run_insights_job",
    "write_run",
]
