"""Price and lead time of (possibly partial) selections.

Price is the base price plus each option's delta plus each text's cost. Lead time is assembly,
plus the slowest module (modules are made in parallel; a backordered one counts its restock),
plus every sequential step (embroidery, transit).

Example
-------
>>> from configurator import reference_families
>>> from configurator.compiled import CompiledFamily
>>> pricing = Pricing(CompiledFamily(reference_families()["original-spin"]))
>>> pricing.price({}, {})["total"], pricing.lead_time({}, {})["total_days"]
(98.0, 3)
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from configurator.compiled import CompiledFamily
from configurator.results import module_days


class Pricing:
    """Price and lead-time answers over one compiled family (per-option figures as lists)."""

    def __init__(self, cf: CompiledFamily) -> None:
        self.cf = cf
        self._delta = [[o.price_delta for o in op] for op in cf.opts]
        self._mdays = [[module_days(o) for o in op] for op in cf.opts]
        self._xdays = [[o.extra_days for o in op] for op in cf.opts]

    def totals(self, fixed: Mapping[int, int], texts: Mapping[str, str]) -> tuple[float, int]:
        """``(price, lead time in days)`` of an assignment: the totals of :meth:`price` and
        :meth:`lead_time` without their breakdowns."""
        cf = self.cf
        fam = cf.family
        price = (
            fam.base_price
            + sum((self._delta[a][j] for a, j in fixed.items()), Decimal(0))
            + sum((cf.texts[k].cost(v) for k, v in texts.items()), Decimal(0))
        )
        days = (
            fam.assembly_days
            + max((self._mdays[a][j] for a, j in fixed.items()), default=0)
            + sum(self._xdays[a][j] for a, j in fixed.items())
            + sum(cf.texts[k].extra_days for k in texts)
        )
        return float(round(price, 2)), int(days)

    def price(self, chosen: Mapping[int, int], texts: Mapping[str, str]) -> dict[str, Any]:
        """Price breakdown: base, option deltas, texts, total."""
        cf = self.cf
        opts = [(cf.names[a], cf.opts[a][j]) for a, j in sorted(chosen.items())]
        lines = [
            {"attribute": n, "value": o.value, "amount": float(o.price_delta)}
            for n, o in opts
            if o.price_delta
        ]
        text_lines = [{"name": k, "amount": float(cf.texts[k].cost(v))} for k, v in texts.items()]
        total = (
            cf.family.base_price
            + sum((o.price_delta for _, o in opts), Decimal(0))
            + sum((cf.texts[k].cost(v) for k, v in texts.items()), Decimal(0))
        )
        return {
            "currency": cf.family.currency,
            "base": float(cf.family.base_price),
            "options": lines,
            "texts": text_lines,
            "total": float(round(total, 2)),
        }

    def lead_time(self, chosen: Mapping[int, int], texts: Mapping[str, str]) -> dict[str, Any]:
        """Lead time: assembly + the slowest module (restock included) + sequential steps."""
        cf = self.cf
        opts = [(cf.names[a], cf.opts[a][j]) for a, j in sorted(chosen.items())]
        slowest = max(opts, key=lambda no: module_days(no[1]), default=None)
        slow_days = module_days(slowest[1]) if slowest else 0
        steps: list[dict[str, Any]] = [
            {"attribute": n, "value": o.value, "days": o.extra_days}
            for n, o in opts
            if o.extra_days
        ]
        steps += [
            {"name": k, "days": cf.texts[k].extra_days} for k in texts if cf.texts[k].extra_days
        ]
        back = [
            {"attribute": n, "value": o.value, "days": o.backorder_days}
            for n, o in opts
            if o.backordered
        ]
        total = cf.family.assembly_days + slow_days + sum(int(s["days"]) for s in steps)
        return {
            "assembly_days": cf.family.assembly_days,
            "slowest_module": (
                None
                if slowest is None
                else {"attribute": slowest[0], "value": slowest[1].value, "days": slow_days}
            ),
            "backorders": back,
            "sequential": steps,
            "total_days": total,
        }
