"""CDNOW holdout benchmark of the customer-value models (Fader, Hardie & Lee 2005 protocol).

Calibration: weeks 1-39 (events before 1997-10-01); holdout: weeks 40-78 (1997-10-01 to
1998-06-30). For every customer of the 2,357-customer sample: predicted repeat purchases in the
holdout (BG/NBD and MBG/NBD) against the actual count, total and per customer (RMSE, Pearson
correlation), against the naive baseline x / T x 39 weeks; and holdout revenue predicted as
E[purchases] x Gamma-Gamma expected spend against the actual revenue.

Run: ``.venv/bin/python load/bench_value_cdnow.py``
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from insights.bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from insights.config import ValueConfig
from insights.gamma_gamma import GammaGammaModel
from insights.summary import summarize
from training.datasets import cdnow
from training.insights import compute_insights

AS_OF = datetime(1997, 10, 1, tzinfo=UTC)
WEEKS = 39.0
END = AS_OF + timedelta(days=7 * WEEKS)


def scores(pred: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    return {
        "predicted_total": round(float(pred.sum()), 1),
        "actual_total": round(float(actual.sum()), 1),
        "rmse": round(float(np.sqrt(np.mean((pred - actual) ** 2))), 4),
        "mae": round(float(np.mean(np.abs(pred - actual))), 4),
        "correlation": round(float(np.corrcoef(pred, actual)[0, 1]), 4),
    }


def main() -> dict[str, object]:
    frame = cdnow()
    cal = summarize(frame, AS_OF, time_unit_days=7)
    full = summarize(frame, END, time_unit_days=7)
    pos = np.searchsorted(full.customer_id, cal.customer_id)
    actual = full.frequency[pos] - cal.frequency  # purchase days in the holdout
    actual_rev = full.revenue[pos] - cal.revenue

    out: dict[str, object] = {"customers": len(cal), "calibration_weeks": 39, "holdout_weeks": 39}
    x, tx, T = cal.frequency, cal.recency, cal.T
    naive = np.where(T > 0, x / np.maximum(T, 1e-9), 0.0) * WEEKS
    out["naive_x_over_T"] = scores(naive, actual)
    gg = GammaGammaModel().fit(x, cal.monetary)
    spend = gg.conditional_expected_spend(x, cal.monetary)
    for model in (BetaGeoModel(), ModifiedBetaGeoModel()):
        model.fit(x, tx, T)
        pred = model.expected_purchases(WEEKS, x, tx, T)
        res: dict[str, object] = dict(scores(pred, actual))
        res["params"] = {k: round(v, 4) for k, v in model.params_.items()}
        res["log_likelihood"] = round(model.log_likelihood_, 2)
        res["revenue"] = scores(pred * spend, actual_rev)
        out[model.kind] = res
    naive_spend = np.where(x > 0, cal.monetary, cal.order_value)
    out["naive_revenue"] = scores(naive * naive_spend, actual_rev)
    out["gamma_gamma"] = {k: round(v, 4) for k, v in gg.params_.items()}

    t0 = time.perf_counter()
    compute_insights(frame, AS_OF, ValueConfig(time_unit_days=7))
    out["job_seconds"] = round(time.perf_counter() - t0, 3)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
