"""Online Retail benchmark of the customer-value job (the team's temporal protocol).

Calibration: events before 2011-09-01 (9 months); the following quarter (2011-09-01 to
2011-12-01) is the holdout. Reports the job's time, the fitted parameters, the Pareto share, the
tier and lifecycle counts, and how much of the next quarter's revenue the top 20% of customers by
CLV capture, against the top 20% by past revenue (and against the share an oracle ranking by the
quarter's revenue itself would capture); plus holdout purchase counts against the naive x / T rate.
Finally the job's time on the whole year (as of 2011-12-10).

Run: ``.venv/bin/python load/bench_value_online_retail.py``
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime

import numpy as np

from insights.config import ValueConfig
from insights.summary import summarize
from training.datasets import online_retail
from training.insights import compute_insights

AS_OF = datetime(2011, 9, 1, tzinfo=UTC)
QUARTER_END = datetime(2011, 12, 1, tzinfo=UTC)
YEAR_END = datetime(2011, 12, 10, tzinfo=UTC)


def top_capture(score: np.ndarray, future: np.ndarray, share: float = 0.2) -> float:
    """Share of ``future`` revenue from the top ``share`` of customers ranked by ``score``."""
    k = round(share * score.size)
    order = np.lexsort((np.arange(score.size), -score))[:k]
    return float(future[order].sum() / future.sum())


def main() -> dict[str, object]:
    t0 = time.perf_counter()
    frame = online_retail()
    load_s = time.perf_counter() - t0
    cfg = ValueConfig()

    t0 = time.perf_counter()
    res = compute_insights(frame, AS_OF, cfg)
    job_s = time.perf_counter() - t0

    cal = summarize(frame, AS_OF)
    nxt = summarize(frame, QUARTER_END)
    pos = np.searchsorted(nxt.customer_id, cal.customer_id)
    future_rev = nxt.revenue[pos] - cal.revenue
    future_days = nxt.frequency[pos] - cal.frequency
    ids = cal.customer_id
    clv = np.array([res.rows[c]["clv"] for c in ids])
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

    t0 = time.perf_counter()
    full = compute_insights(frame, YEAR_END, cfg)
    full_s = time.perf_counter() - t0
    return {
        "events": len(frame),
        "load_seconds": round(load_s, 2),
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
