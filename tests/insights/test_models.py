"""Purchase-count and spend models on simulated customers whose true parameters are known."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy.special import hyp2f1

from core.errors import NotFittedError
from insights.bgnbd import BetaGeoModel, ModifiedBetaGeoModel, transaction_model_from_dict
from insights.gamma_gamma import GammaGammaModel
from tests.value_fixtures import simulate_bgnbd, summary_of

TRUE = {"r": 0.5, "alpha": 5.0, "a": 0.6, "b": 2.5}
_FITTED: dict[str, object] = {}  # one fit per model class for the whole module


@pytest.fixture(scope="module")
def simulated():
    return summary_of(simulate_bgnbd(4000, 40.0, **TRUE, seed=7), 40.0)


class TransactionModelContract:
    """Every purchase-count model passes these."""

    model_cls: Any

    @pytest.fixture
    def fitted(self, simulated):
        key = self.model_cls.kind
        if key not in _FITTED:
            _FITTED[key] = self.model_cls().fit(*simulated)
        return _FITTED[key]

    def test_unfitted_raises(self):
        with pytest.raises(NotFittedError):
            self.model_cls().p_alive(1, 1, 2)

    def test_invalid_input_rejected(self):
        with pytest.raises(ValueError):
            self.model_cls().fit([1.0], [5.0], [4.0])  # recency beyond T

    def test_predictions_are_sane(self, fitted):
        x, tx, T = np.array([0, 3, 3, 10.0]), np.array([0, 30, 5, 39.0]), np.full(4, 40.0)
        alive = fitted.p_alive(x, tx, T)
        assert np.all((alive > 0) & (alive <= 1))
        assert alive[1] > alive[2]  # same purchases, a more recent last one: more likely alive
        e1, e2 = fitted.expected_purchases(10, x, tx, T), fitted.expected_purchases(20, x, tx, T)
        assert np.all(e2 > e1) and np.all(e1 > 0)
        assert e1[3] > e1[1] > e1[2]
        silent = fitted.p_no_purchase(1e9, x, tx, T)
        np.testing.assert_allclose(silent, 1 - alive, atol=1e-3)  # forever silent = dead

    def test_json_round_trip(self, fitted):
        again = transaction_model_from_dict(json.loads(json.dumps(fitted.to_dict())))
        args = (np.array([0.0, 2.0]), np.array([0.0, 20.0]), np.array([30.0, 35.0]))
        np.testing.assert_array_equal(
            again.expected_purchases(12, *args), fitted.expected_purchases(12, *args)
        )
        assert again.log_likelihood_ == fitted.log_likelihood_

    def test_clv_discounting(self, fitted):
        args = (np.array([2.0]), np.array([20.0]), np.array([30.0]), np.array([10.0]))
        flat = fitted.clv(*args, horizon=52, discount_rate=0.0, margin=0.5, step=4)
        expected = 0.5 * 10.0 * fitted.expected_purchases(52, *args[:3])
        np.testing.assert_allclose(flat, expected, rtol=1e-12)
        discounted = fitted.clv(
            *args, horizon=52, discount_rate=0.2, margin=0.5, step=4, time_unit_days=7
        )
        assert 0.8 * flat[0] < discounted[0] < flat[0]

    def test_penalizer_shrinks(self, simulated):
        free = self.model_cls().fit(*simulated)
        tight = self.model_cls(penalizer=1.0).fit(*simulated)
        assert sum(v * v for v in tight.params_.values()) < sum(
            v * v for v in free.params_.values()
        )


class TestBetaGeo(TransactionModelContract):
    model_cls = BetaGeoModel

    def test_recovers_true_parameters(self, fitted):
        for k, v in TRUE.items():
            assert fitted.params_[k] == pytest.approx(v, rel=0.3), k

    def test_one_time_buyers_are_alive(self, fitted):
        assert fitted.p_alive(0, 0, 100.0) == 1.0

    def test_stable_form_matches_textbook_formula(self, fitted):
        r, alpha, a, b = (fitted.params_[k] for k in ("r", "alpha", "a", "b"))
        x, tx, T, t = 3.0, 20.0, 35.0, 26.0
        z = t / (alpha + T + t)
        num = (
            (a + b + x - 1)
            / (a - 1)
            * (
                1
                - ((alpha + T) / (alpha + T + t)) ** (r + x)
                * hyp2f1(r + x, b + x, a + b + x - 1, z)
            )
        )
        den = 1 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
        assert fitted.expected_purchases(t, x, tx, T) == pytest.approx(num / den, rel=1e-10)

    def test_many_purchases_stay_finite(self, fitted):
        e = fitted.expected_purchases(30, 400.0, 40.0, 40.0)  # 2F1 of huge arguments
        assert np.isfinite(e) and e > 100


class TestModifiedBetaGeo(TransactionModelContract):
    model_cls = ModifiedBetaGeoModel

    def test_one_time_buyers_fade(self, fitted):
        assert fitted.p_alive(0, 0, 100.0) < fitted.p_alive(0, 0, 1.0) < 1.0


def test_gamma_gamma_recovers_spend_and_shrinks():
    rng = np.random.default_rng(3)
    p, q, g = 6.0, 4.0, 15.0
    nu = rng.gamma(q, 1.0 / g, 3000)
    x = rng.integers(1, 8, 3000).astype(float)
    m = np.array([rng.gamma(p, 1.0 / v, int(k)).mean() for v, k in zip(nu, x, strict=True)])
    model = GammaGammaModel().fit(x, m)
    assert model.params_["p"] == pytest.approx(p, rel=0.25)
    mean = p * g / (q - 1)
    assert float(model.conditional_expected_spend(0, 0)) == pytest.approx(mean, rel=0.15)
    big = float(model.conditional_expected_spend(1, 500.0))
    assert mean < big < 500.0  # pulled toward the population mean
    assert float(model.conditional_expected_spend(50, 500.0)) > big  # more evidence, less shrink
    again = GammaGammaModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.conditional_expected_spend(2, 40.0) == model.conditional_expected_spend(2, 40.0)
    with pytest.raises(ValueError):
        GammaGammaModel().fit([0, 0], [0, 0])
