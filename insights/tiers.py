"""Value tiers MVC / MGC / BZ / standard, with thresholds fitted per tenant, and next-tier rules.

Tiers (first match wins):

* **MVC** (most valuable): CLV at or above the ``1 - mvc_share`` quantile of the tenant's CLV, and a
  non-negative net value (CLV minus the cost to serve).
* **BZ** (below zero): net value < 0, the cost to serve exceeds the margin expected.
* **MGC** (most growable): alive enough (P(alive) >= ``mgc_min_p_alive``), with unrealised value
  (peer potential - CLV) of at least ``mgc_min_headroom_share`` x the MVC threshold, and either
  a *low share of wallet* — CLV <= ``mgc_sow_max`` x the potential of similar customers — or *high
  predicted growth* — spend expected in the next ``growth_window_days`` >= ``mgc_growth_min`` x the
  spend of the last ones. Similar customers are those in the same band of expected order value
  (``peer_bands`` quantile bands): a customer whose baskets are as large as their peers' but who
  buys far less often spends the rest of that wallet elsewhere. The peer potential is the
  ``mgc_potential_quantile`` CLV quantile of the band. At most ``mgc_share`` of the customers
  are MGC: when more qualify, the headroom bar rises so that those with the most unrealised value
  are kept.
* **standard**: everyone else.

The ladder for ``next_tier`` is BZ -> standard -> MVC (MGC is a growth flag beside standard, so
MGC and standard customers aim at MVC); MVC customers have no next tier.

Examples
--------
>>> import numpy as np
>>> t = ValueTiers(mvc_share=0.25).fit(clv=[1, 2, 3, 40], expected_spend=[10, 10, 10, 10])
>>> t.predict(clv=[1, 2, 3, 40], net_value=[-1, 1, 2, 39], expected_spend=[10] * 4,
...           p_alive=[1] * 4, growth=[np.nan] * 4).tolist()
['BZ', 'MGC', 'MGC', 'MVC']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from insights.reach import purchases_reachable, spend_reachable

TIERS: tuple[str, ...] = ("MVC", "MGC", "standard", "BZ")
NEXT_TIER: dict[str, str | None] = {"BZ": "standard", "standard": "MVC", "MGC": "MVC", "MVC": None}

ValueFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class ValueTiers:
    """Fit tier thresholds on a tenant's customers, assign tiers, and say what the next one needs.

    Parameters mirror :class:`insights.config.ValueConfig` (same names, same defaults).

    Attributes
    ----------
    thresholds_ : dict
        ``{"mvc_clv", "peer_edges", "peer_potential", "mgc_min_headroom"}`` plus the parameters, all
        JSON-able, so that one customer can be re-tiered later (:meth:`from_dict`).
    """

    def __init__(
        self,
        mvc_share: float = 0.2,
        mgc_sow_max: float = 0.5,
        mgc_potential_quantile: float = 0.8,
        mgc_growth_min: float = 1.5,
        mgc_min_p_alive: float = 0.5,
        mgc_min_headroom_share: float = 0.25,
        peer_bands: int = 5,
        mgc_share: float = 0.2,
    ) -> None:
        self.mvc_share = mvc_share
        self.mgc_sow_max = mgc_sow_max
        self.mgc_potential_quantile = mgc_potential_quantile
        self.mgc_growth_min = mgc_growth_min
        self.mgc_min_p_alive = mgc_min_p_alive
        self.mgc_min_headroom_share = mgc_min_headroom_share
        self.peer_bands = peer_bands
        self.mgc_share = mgc_share

    def fit(
        self,
        clv: Any,
        expected_spend: Any,
        net_value: Any = None,
        p_alive: Any = None,
        growth: Any = None,
    ) -> ValueTiers:
        """Thresholds from the population: the MVC CLV cut, the peer bands and their potential.

        With ``net_value``, ``p_alive`` and ``growth`` given, the MGC headroom bar is also raised
        (above ``mgc_min_headroom_share`` x the MVC cut) until at most ``mgc_share`` of the
        customers are MGC: the most growable are those with the most unrealised value.
        """
        v = np.asarray(clv, dtype=np.float64)
        s = np.asarray(expected_spend, dtype=np.float64)
        if v.size == 0:
            raise ValueError("ValueTiers: no customers to fit")
        mvc = float(np.quantile(v, 1.0 - self.mvc_share))
        qs = np.linspace(0, 1, self.peer_bands + 1)[1:-1]
        edges = np.unique(np.quantile(s, qs)) if qs.size else np.empty(0)
        band = np.searchsorted(edges, s, side="right")
        potential = [
            float(np.quantile(v[band == k], self.mgc_potential_quantile))
            if np.any(band == k)
            else mvc
            for k in range(edges.size + 1)
        ]
        self.thresholds_ = {
            "mvc_clv": mvc,
            "peer_edges": edges.tolist(),
            "peer_potential": potential,
            "mgc_min_headroom": self.mgc_min_headroom_share * mvc,
            "mgc_share": self.mgc_share,
            "mvc_share": self.mvc_share,
            "mgc_sow_max": self.mgc_sow_max,
            "mgc_potential_quantile": self.mgc_potential_quantile,
            "mgc_growth_min": self.mgc_growth_min,
            "mgc_min_p_alive": self.mgc_min_p_alive,
            "mgc_min_headroom_share": self.mgc_min_headroom_share,
            "peer_bands": self.peer_bands,
        }
        if net_value is not None and p_alive is not None and growth is not None:
            tiers = self.predict(v, net_value, s, p_alive, growth)
            headroom = self.peer_potential(s) - v
            cap = int(np.floor(self.mgc_share * v.size))
            mgc_headroom = np.sort(headroom[tiers == "MGC"])[::-1]
            if mgc_headroom.size > cap:
                # The bar sits just above the first customer left out (ties stay out together).
                bar = float(np.nextafter(mgc_headroom[cap], np.inf))
                self.thresholds_["mgc_min_headroom"] = max(
                    self.thresholds_["mgc_min_headroom"], bar
                )
        return self

    def _t(self) -> dict[str, Any]:
        if not hasattr(self, "thresholds_"):
            raise RuntimeError("ValueTiers is not fitted; call fit() first")
        return self.thresholds_

    def peer_potential(self, expected_spend: Any) -> np.ndarray:
        """CLV potential of each customer's peer band."""
        t = self._t()
        band = np.searchsorted(np.asarray(t["peer_edges"]), np.asarray(expected_spend), "right")
        return np.asarray(t["peer_potential"])[band]

    def predict(
        self, clv: Any, net_value: Any, expected_spend: Any, p_alive: Any, growth: Any
    ) -> np.ndarray:
        """Tier of each customer (object array of str). ``growth`` may hold NaN (no past spend)."""
        t = self._t()
        v, net, alive, g = (
            np.asarray(a, dtype=np.float64) for a in (clv, net_value, p_alive, growth)
        )
        potential = self.peer_potential(expected_spend)
        mvc = (v >= t["mvc_clv"]) & (net >= 0) & (v > 0)
        bz = net < 0
        headroom = potential - v
        growable = (v <= self.mgc_sow_max * potential) | (
            np.nan_to_num(g, nan=0.0) >= self.mgc_growth_min
        )
        mgc = (alive >= self.mgc_min_p_alive) & (headroom >= t["mgc_min_headroom"]) & growable
        return np.asarray(
            np.select([mvc, bz, mgc], ["MVC", "BZ", "MGC"], default="standard"), dtype=object
        )

    def reaches(self, target: str, clv: np.ndarray, net_value: np.ndarray) -> np.ndarray:
        """Whether (clv, net value) meets the bar of ``target`` ("standard" or "MVC")."""
        t = self._t()
        if target == "standard":
            return np.asarray(net_value >= 0)
        if target == "MVC":
            return np.asarray((clv >= t["mvc_clv"]) & (net_value >= 0) & (clv > 0))
        raise ValueError(f"no bar for tier {target!r}")

    def next_tier(
        self,
        tiers: np.ndarray,
        value_after_purchases: ValueFn,
        value_after_spend: ValueFn,
        *,
        window_days: float,
        max_purchases: int = 50,
        pace: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> list[dict[str, Any] | None]:
        """The next tier of each customer and what reaching it takes within ``window_days``.

        ``value_after_purchases(k)`` gives (clv, net value) if each customer made ``k[i]`` more
        purchases of their usual size, evaluated when the last one is made at the end of the
        window: the least favourable moment (the longer the wait, the lower the rate the model
        infers), so the requirement holds whenever they are made inside the window and the tier
        is re-evaluated on the purchase (as :func:`training.insights.refresh_customer` does);
        ``value_after_spend(s)`` the same for one more purchase worth ``s[i]``. Both must be increasing in their argument; the
        spend route must be affine in ``s`` (Gamma-Gamma's expected spend is), so it is solved from
        two evaluations. Unreachable routes (more than ``max_purchases``) are reported as such.

        ``pace`` (each customer's usual purchase, and purchases and spend at their own pace in
        the window: :func:`insights.reach.pace`) keeps only the routes within their reach
        (:mod:`insights.reach`); ``reachable`` is False, and the requirement says why, when
        neither is.
        """
        n = tiers.shape[0]
        targets = np.array([NEXT_TIER[str(t)] or "" for t in tiers], dtype=object)
        out: list[dict[str, Any] | None] = [None] * n
        for target in ("standard", "MVC"):
            idx = np.flatnonzero(targets == target)
            if idx.size == 0:
                continue
            k = self._min_purchases(idx, n, target, value_after_purchases, max_purchases)
            s = self._min_spend(idx, n, target, value_after_spend)
            for j, i in enumerate(idx):
                mine = None if pace is None else (pace[0][i], pace[1][i], pace[2][i])
                out[i] = _requirement(target, k[j], s[j], window_days, max_purchases, mine)
        return out

    def min_spend(self, target: str, n: int, value_after_spend: ValueFn) -> np.ndarray:
        """For each of the ``n`` customers of ``value_after_spend`` (see :meth:`next_tier`): the
        smallest one-purchase spend reaching ``target`` (inf when none does)."""
        return self._min_spend(np.arange(n), n, target, value_after_spend)

    def _min_purchases(
        self, idx: np.ndarray, n: int, target: str, fn: ValueFn, max_k: int
    ) -> np.ndarray:
        """Smallest k in 1..max_k reaching ``target`` (max_k + 1 when none), by bisection."""
        lo = np.zeros(idx.size, dtype=np.int64)  # known not enough (0 purchases: not there yet)
        hi = np.full(idx.size, max_k + 1, dtype=np.int64)  # known enough (sentinel)
        while np.any(hi - lo > 1):
            mid = (lo + hi) // 2
            k = np.zeros(n)
            k[idx] = mid
            clv, net = fn(k)
            ok = self.reaches(target, clv[idx], net[idx])
            active = hi - lo > 1
            hi = np.where(active & ok, mid, hi)
            lo = np.where(active & ~ok, mid, lo)
        return hi

    def _min_spend(self, idx: np.ndarray, n: int, target: str, fn: ValueFn) -> np.ndarray:
        """Smallest one-purchase spend reaching ``target`` (inf when spend cannot get there)."""
        t = self._t()
        zero = np.zeros(n)
        one = np.zeros(n)
        one[idx] = 1.0
        clv0, net0 = (a[idx] for a in fn(zero))
        clv1, net1 = (a[idx] for a in fn(one))
        d_clv, d_net = clv1 - clv0, net1 - net0
        with np.errstate(divide="ignore", invalid="ignore"):
            need_net = np.where(d_net > 0, -net0 / d_net, np.where(net0 >= 0, 0.0, np.inf))
            if target == "MVC":
                need_clv = np.where(
                    d_clv > 0,
                    (t["mvc_clv"] - clv0) / d_clv,
                    np.where(clv0 >= t["mvc_clv"], 0.0, np.inf),
                )
                need = np.maximum(need_net, need_clv)
            else:
                need = need_net
        # Round up to the cent so the stated amount is enough.
        return np.asarray(np.ceil(np.maximum(need, 0.0) * 100.0) / 100.0)

    def to_dict(self) -> dict[str, Any]:
        return dict(self._t())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValueTiers:
        keys = (
            "mvc_share",
            "mgc_sow_max",
            "mgc_potential_quantile",
            "mgc_growth_min",
            "mgc_min_p_alive",
            "mgc_min_headroom_share",
            "peer_bands",
            "mgc_share",
        )
        obj = cls(**{k: data[k] for k in keys})
        obj.thresholds_ = dict(data)
        return obj


def _requirement(
    target: str,
    k: int,
    spend: float,
    window_days: float,
    max_k: int,
    pace: tuple[float, float, float] | None = None,
) -> dict[str, Any]:
    """The requirement of one customer: the routes that suffice (and, given ``pace`` as
    ``(usual purchase, purchases, spend)`` in the window, are within reach), in words."""
    days = round(window_days)
    routes = []
    purchases = int(k) if k <= max_k else None
    spend_v = float(spend) if np.isfinite(spend) else None
    if spend_v is not None and spend_v < 0.005:  # any purchase does: never "0.00 more spend"
        spend_v, purchases = None, 1
    needed = purchases
    if pace is not None:
        typical, pace_k, pace_spend = (float(v) for v in pace)
        if purchases is not None and not purchases_reachable(purchases, pace_k):
            purchases = None
        if spend_v is not None and not spend_reachable(spend_v, pace_spend, typical):
            spend_v = None
    if purchases is not None:
        routes.append(f"{purchases} more purchase{'s' if purchases != 1 else ''}")
    if spend_v is not None:
        routes.append(f"{spend_v:.2f} more spend in one purchase")
    if routes:
        text = " or ".join(routes) + f" within {days} days"
    elif pace is not None:
        need = f"{needed} purchases" if needed is not None else f"more than {max_k} purchases"
        text = (
            f"not within reach in {days} days at the customer's pace (about {pace[1]:.1f}"
            f" purchases, {pace[2]:.2f} in that time): it would take {need}"
        )
    else:
        text = f"more than {max_k} purchases within {days} days"
    return {
        "tier": target,
        "requirement": text,
        "reachable": bool(routes),
        "purchases": purchases,
        "spend": spend_v,
        "within_days": days,
    }
