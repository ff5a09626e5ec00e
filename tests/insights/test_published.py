"""The published CDNOW figures (Fader, Hardie & Lee 2005; the lifetimes documentation), reproduced
from the calibration summary, from the raw sample through ``summarize``, and through the job."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from insights.bgnbd import BetaGeoModel
from insights.config import ValueConfig
from insights.gamma_gamma import GammaGammaModel
from insights.scoring import refresh_customer
from insights.summary import summarize
from training.datasets import cdnow
from training.insights import compute_insights

AS_OF = datetime(1997, 10, 1, tzinfo=UTC)
BGNBD = {"r": "0.243", "alpha": "4.414", "a": "0.793", "b": "2.426"}
GAMMA_GAMMA = {"p": "6.25", "q": "3.74", "gamma": "15.44"}


def as_quoted(value: float, published: str) -> bool:
    """``value`` rounds to ``published`` at the precision it is quoted with."""
    decimals = len(published.split(".")[1]) if "." in published else 0
    return round(value, decimals) == float(published)


def check_params(params: dict[str, float], published: dict[str, str]) -> None:
    got = {k: params[k] for k in published}
    assert all(as_quoted(params[k], v) for k, v in published.items()), got


def read_summary(path: Path) -> np.ndarray:
    with open(path / "cdnow_customers_summary.csv", encoding="ascii") as fh:
        rows = list(csv.DictReader(fh))
    return np.array([[float(r[k]) for k in ("ID", "frequency", "recency", "T")] for r in rows])


@pytest.fixture(scope="module")
def sample_summary():
    return summarize(cdnow(), AS_OF, time_unit_days=7)


@pytest.fixture(scope="module")
def job():
    return compute_insights(cdnow(), AS_OF, ValueConfig(time_unit_days=7, horizon_days=39 * 7))


def test_bgnbd_from_published_summary(cdnow_dir):
    data = read_summary(cdnow_dir)
    model = BetaGeoModel().fit(data[:, 1], data[:, 2], data[:, 3])
    check_params(model.params_, BGNBD)
    assert model.n_customers_ == 2357
    assert as_quoted(float(model.expected_purchases(39, 2, 30.43, 38.86)), "1.226")


def test_summary_matches_published_calibration(cdnow_dir, sample_summary):
    data = read_summary(cdnow_dir)
    # The raw sample's second column is the summary's ID.
    ids = {}
    with open(cdnow_dir / "CDNOW_sample.txt", encoding="ascii") as fh:
        for line in fh:
            parts = line.split()
            if parts:
                ids[int(parts[1])] = parts[0]
    pos = np.searchsorted(sample_summary.customer_id, [ids[int(i)] for i in data[:, 0]])
    assert len(sample_summary) == data.shape[0] == 2357
    np.testing.assert_array_equal(sample_summary.frequency[pos], data[:, 1])
    np.testing.assert_allclose(sample_summary.recency[pos], data[:, 2], atol=0.006)
    np.testing.assert_allclose(sample_summary.T[pos], data[:, 3], atol=0.006)


def test_models_from_raw_sample(sample_summary):
    s = sample_summary
    bg = BetaGeoModel().fit(s.frequency, s.recency, s.T)
    check_params(bg.params_, BGNBD)
    gg = GammaGammaModel().fit(s.frequency, s.monetary)
    check_params(gg.params_, GAMMA_GAMMA)
    assert gg.n_customers_ == 946


def test_job_reproduces_published_figures(job):
    check_params(job.model["transaction_model"]["params"], BGNBD)
    check_params(job.model["spend_model"]["params"], GAMMA_GAMMA)
    assert job.model["n_customers"] == 2357
    assert job.model["spend_model"]["n_customers"] == 946
    assert job.model["calibration_period"]["start"] == "1997-01-01"
    assert job.model["calibration_period"]["end"] == "1997-09-30"
    assert job.model["time_unit_days"] == 7
    # Sample ID 1 (customer 00004): x = 2, t_x = 30.43, T = 38.86 weeks; horizon 39 weeks.
    assert as_quoted(job.rows["00004"]["predicted_purchases"], "1.226")
    json.dumps(job.to_dict())  # what the store keeps is plain JSON


def test_refresh_from_stored_state_reproduces_the_row(job):
    state = json.loads(json.dumps(job.state))
    frame = cdnow()
    row = refresh_customer(state, frame, AS_OF, customer_id="00004")
    assert row is not None
    batch = job.rows["00004"]
    for key in ("tier", "clv", "predicted_purchases", "p_alive", "rfm", "next_tier"):
        assert row[key] == batch[key]
