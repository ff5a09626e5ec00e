"""Customer-value test fixtures: simulated BG/NBD customers and their event frames."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from core.records import EventFrame
from training.datasets import shared_data_dir

DAY = 86400.0
#: 2011-01-01T00:00Z, the start of the simulated shop.
EPOCH = 1293840000.0


def simulate_bgnbd(
    n: int, T: float, r: float, alpha: float, a: float, b: float, seed: int = 0
) -> list[np.ndarray]:
    """Purchase times (first at 0) of ``n`` BG/NBD customers observed for ``T`` time units."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    out = []
    for i in range(n):
        times = [0.0]
        t = 0.0
        while True:
            t += rng.exponential(1.0 / lam[i])
            if t > T:
                break
            times.append(t)
            if rng.random() < p[i]:
                break
        out.append(np.array(times))
    return out


def summary_of(times: list[np.ndarray], T: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([len(t) - 1 for t in times], dtype=float)
    tx = np.array([t[-1] for t in times])
    return x, tx, np.full(len(times), T)


def shop_frame(n: int = 240, days: float = 300.0, seed: int = 1) -> EventFrame:
    """A small shop: customers joining over the first 150 days, BG/NBD purchases (rate per day),
    lognormal order values, and a few returns."""
    rng = np.random.default_rng(seed)
    joins = rng.uniform(0, 150, n)
    paths = simulate_bgnbd(n, days, r=0.8, alpha=40.0, a=0.8, b=4.0, seed=seed)
    cust, ts, val, typ = [], [], [], []
    for i, path in enumerate(paths):
        scale = rng.lognormal(3.5, 0.6)
        for t in path:
            when = joins[i] + t
            if when >= days:
                break
            cust.append(f"c{i:04d}")
            ts.append(EPOCH + when * DAY)
            val.append(float(rng.gamma(4.0, scale / 4.0)))
            typ.append("purchase")
            if rng.random() < 0.05:  # a return a few days later
                cust.append(f"c{i:04d}")
                ts.append(EPOCH + (when + 3) * DAY)
                val.append(val[-1] * 0.5)
                typ.append("return")
    m = len(cust)
    return EventFrame(
        np.array(cust, dtype=object),
        np.full(m, "", dtype=object),
        np.array(typ, dtype=object),
        np.array(ts),
        np.ones(m),
        np.array(val),
    )


@pytest.fixture(scope="session")
def shop() -> EventFrame:
    return shop_frame()


@pytest.fixture(scope="session")
def simulate() -> Callable[..., list[np.ndarray]]:
    return simulate_bgnbd


@pytest.fixture(scope="session")
def cdnow_dir():
    path = shared_data_dir() / "cdnow"
    if not path.exists():
        pytest.skip("../shared/data is absent on this machine")
    return path
