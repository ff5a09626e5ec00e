"""Online Retail benchmark of the customer-value job (the team's temporal protocol).

The events go into an embedded store and the job runs as ``atelier insights`` runs it
(:func:`training.insights.run_insights_job`, the tenant's default settings); the rows are read
back from the store. Calibration: events before 2011-09-01 (9 months; the job itself learns its
blend weight and activity model on the quarter before, from 2011-06-03); the following quarter
(2011-09-01 to 2011-12-01) is the holdout, never seen by the job. Reports the job's time, the fitted parameters, the Pareto share, the
tier and lifecycle counts, P(alive)'s spread and calibration by decile (predicted against the
share of customers buying again in the quarter), and how much of the next quarter's revenue the top 20% of customers by
CLV capture, against the top 20% by past revenue (and against the share an oracle ranking by the
quarter's revenue itself would capture); plus holdout purchase counts against the naive x / T rate.
Finally the job's time on the whole year (as of 2011-12-10).

Run: ``.venv/bin/python load/bench_value_online_retail.py``
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.records import Event, EventFrame
from insights.summary import summarize
from insights.validation import calibration_by_decile
from store.sqlite import SQLiteStore
from training.datasets import online_retail
from training.insights import InsightsResult, run_insights_job

AS_OF = datetime(2011, 9, 1, tzinfo=UTC)
QUARTER_END = datetime(2011, 12, 1, tzinfo=UTC)
YEAR_END = datetime(2011, 12, 10, tzinfo=UTC)


def top_capture(score: np.ndarray, future: np.ndarray, share: float = 0.2) -> float:
    """Share of ``future`` revenue from the top ``share`` of customers ranked by ``score``."""
    k = round(share * score.size)
    order = np.lexsort((np.arange(score.size), -score))[:k]
    return float(future[order].sum() / future.sum())


def load_store(store: SQLiteStore, frame: EventFrame) -> None:
    """The frame's purchase and return events into the store, as an import would put them."""
    keep = np.flatnonzero(np.isin(frame.type, ["purchase", "return"]))
    for start in range(0, keep.size, 20_000):
        batch = [
            Event(
                f"e{i}",
                str(frame.customer_id[i]),
                str(frame.type[i]),
                float(frame.timestamp[i]),
                item_id=str(frame.item_id[i]) or None,
                value=None if np.isnan(frame.value[i]) else float(frame.value[i]),
            )
            for i in keep[start : start + 20_000]
        ]
        store.add_events("retail", batch)


def job(store: SQLiteStore, as_of: datetime) -> tuple[InsightsResult, float]:
    t0 = time.perf_counter()
    res = run_insights_job(store, "retail", as_of)
    return res, time.perf_counter() - t0


def main() -> dict[str, object]:
    t0 = time.perf_counter()
    frame = online_retail()
    load_s = time.perf_counter() - t0
    tmp = tempfile.TemporaryDirectory()
    store = SQLiteStore(Path(tmp.name) / "bench.sqlite3")
    t0 = time.perf_counter()
    load_store(store, frame)
    store_s = time.perf_counter() - t0

    res, job_s = job(store, AS_OF)
    res.rows = dict(store.iter_insights_rows("retail"))  # what the API serves

    cal = summarize(frame, AS_OF)
    nxt = summarize(frame, QUARTER_END)
    pos = np.searchsorted(nxt.customer_id, cal.customer_id)
    future_rev = nxt.revenue[pos] - cal.revenue
    future_days = nxt.frequency[pos] - cal.frequency
    ids = cal.customer_id
    clv = np.array([res.rows[c]["clv"] for c in ids])
    clv_model = np.array([res.rows[c]["clv_model"] for c in ids])
    p_alive = np.array([res.rows[c]["p_alive"] for c in ids])
    p_alive_model = np.array([res.rows[c]["p_alive_model"] for c in ids])
    predicted = np.array([res.rows[c]["predicted_purchases"] for c in ids])
    horizon = (QUARTER_END - AS_OF).days
    # Predicted purchases over the quarter (the job's horizon is a year): refit-free rescoring.
    from insights.bgnbd import transaction_model_from_dict

    tm = transaction_model_from_dict(res.state["transaction_model"])
    pred_q = tm.expected_purchases(horizon, cal.frequency, cal.recency, cal.T)
    naive_q = np.where(cal.T > 0, cal.frequency / np.maximum(cal.T, 1e-9), 0.0) * horizon

    def fit(pred: np.ndarray) -> dict[str, float]:
        return {
            "predicted_total": round(float(pred.sum()), 1),
            "rmse": round(float(np.sqrt(np.mean((pred - future_days) ** 2))), 4),
            "correlation": round(float(np.corrcoef(pred, future_days)[0, 1]), 4),
        }

    tiers = Counter(r["tier"] for r in res.rows.values())
    stages = Counter(r["lifecycle_stage"] for r in res.rows.values())
    actions = Counter(r["next_best_action"]["action"] for r in res.rows.values())
    mvc = np.array([res.rows[c]["tier"] == "MVC" for c in ids])

    full, full_s = job(store, YEAR_END)
    tmp.cleanup()
    bought = future_days > 0
    return {
        "events": len(frame),
        "load_seconds": round(load_s, 2),
        "store_load_seconds": round(store_s, 2),
        "validation": {
            "as_of": res.model["validation"]["as_of"],
            "blend_weight": res.model["validation"]["value_blend"]["weight"],
            "captures": res.model["validation"]["value_blend"]["validation_captures"],
        },
        "p_alive": {
            "percentiles_5_25_50_75_95": [
                round(float(v), 3) for v in np.percentile(p_alive, [5, 25, 50, 75, 95])
            ],
            "model_percentiles_5_50_95": [
                round(float(v), 3) for v in np.percentile(p_alive_model, [5, 50, 95])
            ],
            "calibration_by_decile": calibration_by_decile(p_alive, bought),
        },
        "job_seconds_calibration": round(job_s, 2),
        "customers_calibration": res.model["n_customers"],
        "transaction_model": {
            k: float(f"{v:.4g}") for k, v in res.model["transaction_model"]["params"].items()
        },
        "spend_model": {
            k: float(f"{v:.4g}") for k, v in res.model["spend_model"]["params"].items()
        },
        "pareto_top20_share_calibration": round(res.pareto["top_revenue_share"], 4),
        "pareto_top20_share_full_year": round(full.pareto["top_revenue_share"], 4),
        "gini_calibration": round(res.pareto["gini"], 4),
        "tiers": dict(tiers),
        "lifecycle": dict(stages),
        "actions": dict(actions),
        "next_quarter": {
            "revenue": round(float(future_rev.sum()), 2),
            "active_customers": int((future_days > 0).sum()),
            "top20_by_clv_share": round(top_capture(clv, future_rev), 4),
            "top20_by_model_clv_share": round(top_capture(clv_model, future_rev), 4),
            "top20_by_past_revenue_share": round(top_capture(cal.revenue, future_rev), 4),
            "top20_by_predicted_purchases_share": round(top_capture(predicted, future_rev), 4),
            "top20_oracle_share": round(top_capture(future_rev, future_rev), 4),
            "mvc_share": round(float(future_rev[mvc].sum() / future_rev.sum()), 4),
            "purchases_model": fit(pred_q),
            "purchases_naive_x_over_T": fit(naive_q),
            "actual_purchase_days": float(future_days.sum()),
        },
        "job_seconds_full_year": round(full_s, 2),
        "customers_full_year": full.model["n_customers"],
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
