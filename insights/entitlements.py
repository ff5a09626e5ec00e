"""Tier perks and entitlements: which perks a customer's tier grants, and for each withheld one
what would earn it, stated so the customer can act on it.

The tenant's policy (``PUT /v1/tiers/policy``) lists perks per tier. A perk of a tier is granted
to customers of that tier and of the tiers above it on the ladder BZ < standard < MVC, where MGC
is a growth flag on standard: MGC customers get the standard perks, an MGC perk goes to MGC and
MVC customers, and a standard customer earns it by reaching MVC (growth is not bought).

A withheld perk's requirement is the cheapest *reachable* route to the tier that grants it, in
the shortest window that has one (:meth:`~insights.scoring.CustomerValueScorer.windows`: the
next-tier window, then longer ones up to the horizon): ``k`` more purchases of the customer's
usual size, or one purchase of a given amount, reachable by :mod:`insights.reach`'s rule (the
one the insights row's ``next_tier`` follows too): at most ``STRETCH`` times what the customer
does at their own pace in that window. So a customer
who spends 50 a month is never asked for 15,000 in one purchase, and a spend of 0.00 is never
stated (any purchase then does: "one more purchase"). When no window has a reachable route the
requirement says so (``reachable: false``) and how many purchases it would take.

Perks that change what the service does are applied by the configurator for a customer-scoped
configure (:func:`service_effects`): the largest ``discount`` granted (a fraction of the price)
and the largest ``priority_lead_time`` (days taken off the lead time).

Examples
--------
>>> policy = TierPolicy.model_validate({"tiers": {"MVC": {"perks": [
...     {"perk_id": "ten-off", "title": "10% off", "kind": "discount", "value": 0.1}]},
...     "standard": {"perks": [{"perk_id": "news", "title": "Newsletter", "kind": "other"}]}}})
>>> [p.perk_id for p in granted_perks(policy, "MGC")], granted_perks(policy, "BZ")
(['news'], [])
>>> target_tier("MGC"), target_tier("standard")
('MVC', 'standard')
>>> route = {"within_days": 90, "purchases": 2, "spend": 15000.0, "typical_spend": 50.0,
...          "pace_purchases": 3.0, "pace_spend": 150.0}
>>> cheapest_route("MVC", [route])["requirement"]
'2 more purchases of about 50.00 within 90 days'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from insights.reach import purchases_reachable, spend_reachable
from insights.settings import TIER_POLICY, load_setting, save_setting
from store.protocols import InsightsStore

PerkKind = Literal["discount", "delivery", "priority_lead_time", "account_manager", "other"]
TierName = Literal["MVC", "MGC", "standard", "BZ"]

#: The ladder: a perk of a tier goes to that tier and every tier ranked above it.
RANK: dict[str, int] = {"BZ": 0, "standard": 1, "MGC": 1, "MVC": 2}


class Perk(BaseModel):
    """One perk: ``value`` is a fraction of the price for ``discount`` (0.1 = 10% off), days
    taken off the lead time for ``priority_lead_time``, free for the other kinds."""

    model_config = ConfigDict(extra="forbid", strict=True)

    perk_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    title: str = Field(min_length=1, max_length=200)
    kind: PerkKind
    value: float | None = Field(None, ge=0, allow_inf_nan=False, validate_default=True)

    @field_validator("value")
    @classmethod
    def _value_fits_kind(cls, value: float | None, info: ValidationInfo) -> float | None:
        # A field validator (kind is declared before value), so a refusal names "value".
        kind = info.data.get("kind")
        if kind == "discount" and (value is None or not 0 < value < 1):
            raise ValueError("a discount is a fraction of the price, above 0 and below 1")
        if kind == "priority_lead_time" and (value is None or value < 1):
            raise ValueError("priority_lead_time takes at least 1 day off the lead time")
        return value


class TierPerks(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    perks: list[Perk] = Field(default_factory=list, max_length=100)


class TierPolicy(BaseModel):
    """Perks per tier (``PUT /v1/tiers/policy``); perk ids are unique across the policy."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tiers: dict[TierName, TierPerks] = Field(default_factory=dict)

    @field_validator("tiers")
    @classmethod
    def _unique_ids(cls, tiers: dict[str, TierPerks]) -> dict[str, TierPerks]:
        seen: set[str] = set()
        for perks in tiers.values():
            for perk in perks.perks:
                if perk.perk_id in seen:
                    raise ValueError(f"perk_id {perk.perk_id!r} is listed twice")
                seen.add(perk.perk_id)
        return tiers

    def perks(self) -> list[tuple[str, Perk]]:
        """Every ``(tier, perk)``, top tier first."""
        order = sorted(self.tiers, key=lambda t: (-RANK[t], t))
        return [(t, p) for t in order for p in self.tiers[t].perks]


def load_tier_policy(store: InsightsStore, tenant: str) -> tuple[int, TierPolicy]:
    """The tenant's perk policy and its version (0: never set, no perks)."""
    return load_setting(store, tenant, TIER_POLICY, TierPolicy)


def save_tier_policy(store: InsightsStore, tenant: str, policy: TierPolicy) -> int:
    """Store ``policy`` as the tenant's new version."""
    return save_setting(store, tenant, TIER_POLICY, policy)


def grants(perk_tier: str, tier: str) -> bool:
    """Whether a customer of ``tier`` gets the perks of ``perk_tier`` (MGC: standard's too)."""
    if tier == "MGC" and perk_tier == "standard":
        return True
    return tier == perk_tier or RANK[tier] > RANK[perk_tier]


def granted_perks(policy: TierPolicy, tier: str) -> list[Perk]:
    """The perks a customer of ``tier`` has."""
    return [p for t, p in policy.perks() if grants(t, tier)]


def target_tier(perk_tier: str) -> str:
    """The tier to reach for a perk of ``perk_tier`` (MGC perks: MVC, growth is not bought)."""
    return "MVC" if perk_tier == "MGC" else perk_tier


def _routes(w: dict[str, Any]) -> list[tuple[float, dict[str, Any]]]:
    """The reachable routes of one window as ``(money, requirement)``."""
    days, typical = round(w["within_days"]), float(w["typical_spend"])
    found = []
    k, spend = w["purchases"], w["spend"]
    any_size = spend is not None and spend < 0.005  # any purchase does: never "0.00 more"
    if any_size:
        k, spend = 1, None
    if k is not None and purchases_reachable(k, w["pace_purchases"]):
        plural = "s" if k != 1 else ""
        text = (
            f"one more purchase within {days} days"
            if any_size
            else f"{k} more purchase{plural} of about {typical:.2f} within {days} days"
        )
        route = {"route": "purchases", "purchases": k, "spend": None, "purchase_value": typical}
        found.append((k * typical, {**route, "requirement": text}))
    if spend is not None and spend_reachable(spend, w["pace_spend"], typical):
        text = f"one purchase of {spend:.2f} or more within {days} days"
        route = {"route": "spend", "purchases": None, "spend": spend, "purchase_value": spend}
        found.append((spend, {**route, "requirement": text}))
    return found


def cheapest_route(target: str, windows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The requirement for ``target`` from :meth:`CustomerValueScorer.reach`'s windows: the
    cheapest reachable route in the shortest window that has one, else an honest refusal."""
    last: dict[str, Any] | None = None
    for w in windows:
        found = _routes(w)
        if found:
            _, best = min(found, key=lambda r: r[0])
            return {
                "tier": target,
                "reachable": True,
                "within_days": round(w["within_days"]),
                **best,
            }
        last = w
    if last is None:
        raise ValueError("cheapest_route: no window to look in")
    days, k = round(last["within_days"]), last["purchases"]
    need = (
        f"{k} purchases of about {last['typical_spend']:.2f}"
        if k is not None
        else "more purchases than can be counted on"
    )
    return {
        "tier": target,
        "reachable": False,
        "route": None,
        "purchases": k,
        "spend": None,
        "purchase_value": last["typical_spend"],
        "within_days": days,
        "requirement": (
            f"not within reach in {days} days at the customer's pace (about "
            f"{last['pace_purchases']:.1f} purchases, {last['pace_spend']:.2f} in that time): "
            f"it would take {need}"
        ),
    }


def service_effects(perks: list[dict[str, Any]]) -> dict[str, Any]:
    """What the granted perks change in the service: the largest discount (fraction) and the
    largest priority lead time (days), with the perks that give them."""
    discount = [p for p in perks if p["kind"] == "discount"]
    priority = [p for p in perks if p["kind"] == "priority_lead_time"]
    best_d = max(discount, key=lambda p: p["value"], default=None)
    best_p = max(priority, key=lambda p: p["value"], default=None)
    return {
        "discount": float(best_d["value"]) if best_d else 0.0,
        "lead_time_days_saved": int(best_p["value"]) if best_p else 0,
        "applied": [p for p in (best_d, best_p) if p is not None],
    }
