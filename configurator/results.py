"""The answers of the configurator: dataclasses mirroring the HTTP bodies (``to_dict`` gives
the JSON form), and :func:`describe`, a compiled family as its product page shows it.

Example
-------
>>> from configurator import reference_families
>>> from configurator.compiled import CompiledFamily
>>> d = describe(CompiledFamily(reference_families()["logistics-bundle"]))
>>> d["product_id"], d["backend"], d["variant_count"]
('logistics-bundle', 'bdd', 10392)
>>> OptionState("air", True)
OptionState(value='air', valid=True, reason=None, rules=[], excluded_by={})
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from configurator.family import Negation, Option

if TYPE_CHECKING:
    from configurator.compiled import CompiledFamily


@dataclass(slots=True)
class OptionState:
    """One option of an attribute in a configure answer. ``reason`` is a sentence; ``rules`` and
    ``excluded_by`` (the customer's picks that exclude it) are its machine-readable parts."""

    value: str
    valid: bool
    reason: str | None = None
    rules: list[str] = field(default_factory=list)
    excluded_by: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Variant:
    """A complete assignment with its code, price and lead time (``complete``: no required
    text is missing)."""

    code: str
    selections: dict[str, str]
    price: float
    lead_time_days: int
    complete: bool = True
    missing: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Conflict:
    """A pick to drop so that the rest can be satisfied, and why it clashes."""

    source: str  # "selections" or "measurements"
    attribute: str
    value: Any
    conflicts_with: dict[str, Any]
    rules: list[str]
    reason: str


@dataclass(slots=True)
class FitMatch:
    """One size module against the measurements."""

    value: str
    deltas: dict[str, float]  # measurement - module centre, per measurement
    distance: float  # sqrt(sum((delta / tolerance)^2)); <= 1 per axis means within tolerance
    within_tolerance: bool


@dataclass(slots=True)
class Fit:
    """The modules of one size attribute that fit the measurements."""

    attribute: str
    matches: list[FitMatch]  # nearest valid modules within tolerance, nearest first
    nearest: list[FitMatch]  # nearest valid modules regardless of tolerance (when no match)
    message: str


@dataclass(slots=True)
class ConfigureResult:
    """One interactive configuration step (``POST .../configure``)."""

    complete: bool
    variant: Variant | None
    options: dict[str, list[OptionState]]
    remaining_variants: int
    conflicts: list[Conflict]
    suggested: Variant | None
    fit: dict[str, Fit] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # required texts not yet given

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the HTTP response body); hand-rolled because ``asdict`` deep-copies
        every option and costs more than the query."""

        def opt(s: OptionState) -> dict[str, Any]:
            if s.valid:
                return {"value": s.value, "valid": True}
            return {
                "value": s.value,
                "valid": False,
                "reason": s.reason,
                "rules": s.rules,
                "excluded_by": s.excluded_by,
            }

        return {
            "complete": self.complete,
            "variant": None if self.variant is None else asdict(self.variant),
            "options": {a: [opt(s) for s in sts] for a, sts in self.options.items()},
            "remaining_variants": self.remaining_variants,
            "conflicts": [asdict(c) for c in self.conflicts],
            "suggested": None if self.suggested is None else asdict(self.suggested),
            "fit": {k: asdict(f) for k, f in self.fit.items()},
            "missing": list(self.missing),
        }


@dataclass(slots=True)
class DecodedVariant:
    """A variant code decoded by the family version that issued it, with the breakdowns of
    its price and lead time (``GET /v1/configurator/variants/{code}``)."""

    variant: Variant
    product_id: str
    version: int
    currency: str
    price_breakdown: dict[str, Any]
    lead_time: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the HTTP response body)."""
        v = self.variant
        return {
            "code": v.code,
            "product_id": self.product_id,
            "version": self.version,
            "selections": v.selections,
            "complete": v.complete,
            "missing": v.missing,
            "price": v.price,
            "currency": self.currency,
            "price_breakdown": self.price_breakdown,
            "lead_time_days": v.lead_time_days,
            "lead_time": self.lead_time,
        }


def module_days(o: Option) -> int:
    """Days to have a module ready: its lead time plus any restock of a backordered one."""
    return o.lead_time_days + (o.backorder_days or 0 if o.backordered else 0)


def describe(cf: CompiledFamily) -> dict[str, Any]:
    """The family for ``GET /v1/configurator/products/{id}``: attributes and options with
    their price and lead-time effects, measurements, text options, rules, variant count."""
    fam = cf.family

    def opt(a: int, j: int, o: Option) -> dict[str, Any]:
        d: dict[str, Any] = {
            "value": o.value,
            "label": o.label or o.value,
            "price_delta": float(o.price_delta),
            "lead_time_days": module_days(o),
            "extra_days": o.extra_days,
            "available": bool(cf.global_valid[a][j]),
            "in_stock": not o.out_of_stock,
        }
        if o.measure:
            d["measure"] = o.measure
            d["tolerance"] = o.tolerance
        return d

    return {
        "product_id": fam.id,
        "name": fam.name,
        "description": fam.description,
        "kind": fam.kind,
        "version": fam.version,
        "currency": fam.currency,
        "base_price": float(fam.base_price),
        "assembly_days": fam.assembly_days,
        "variant_count": cf.variant_count,
        "backend": cf.backend.kind,
        "attributes": [
            {
                "name": a.name,
                "label": a.label or a.name,
                "group": a.group,
                "options": [opt(i, j, o) for j, o in enumerate(a.values)],
            }
            for i, a in enumerate(cf.attrs)
        ],
        "measurements": [m.model_dump(mode="json") for m in fam.measurements],
        "text_options": [
            {
                "name": t.name,
                "label": t.label or t.name,
                "max_length": t.max_length,
                "allowed_chars": t.allowed_chars,
                "price": float(t.price),
                "price_per_char": float(t.price_per_char),
                "extra_days": t.extra_days,
                "required": t.required,
                "enabled_by": {
                    k: (v.model_dump(by_alias=True) if isinstance(v, Negation) else v)
                    for k, v in t.enabled_by.items()
                },
            }
            for t in fam.text_options
        ],
        "rules": [{"id": c.id, "message": c.message} for c in cf.problem.constraints],
    }
