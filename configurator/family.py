"""Product families as data: pydantic models of a configurable family, validated on load.

A family is authored in YAML or JSON and lists attributes (each a set of pre-made modules, the
options), measurement inputs mapped to size attributes, free-text options and rules. Size
attributes can be written as a compact size table (ranges per axis) that expands to options, so
227 waist/hip modules take a few lines.

Example
-------
>>> fam = load_family({"id": "mug", "name": "Mug", "base_price": 5, "attributes": [
...     {"name": "colour", "options": [{"value": "red"}, {"value": "blue", "price_delta": 1}]}]})
>>> [o.value for o in fam.attribute("colour").values]
['red', 'blue']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from configurator.errors import FamilyError

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")]
FAMILIES_DIR = Path(__file__).parent / "families"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Option(_Model):
    """One pre-made module of an attribute.

    ``lead_time_days`` is the time to have the module ready (modules are made in parallel, so
    the slowest one counts); ``extra_days`` is a sequential step it adds (embroidery, transit).
    ``inventory`` None means made to order; 0 means out of stock, which makes the option invalid
    unless ``backorder_days`` says how long a restock takes (then it is added to the lead time).
    """

    value: Slug
    label: str | None = None
    price_delta: Decimal = Decimal(0)
    lead_time_days: int = Field(0, ge=0)
    extra_days: int = Field(0, ge=0)
    inventory: int | None = Field(None, ge=0)
    backorder_days: int | None = Field(None, ge=0)
    properties: dict[str, float] = {}
    measure: dict[str, float] = {}
    tolerance: dict[str, float] = {}

    @property
    def out_of_stock(self) -> bool:
        return self.inventory == 0 and self.backorder_days is None

    @property
    def backordered(self) -> bool:
        return self.inventory == 0 and self.backorder_days is not None


class SizeAxis(_Model):
    """Values ``start, start+step, ..., stop`` (inclusive); with ``offset_from`` they are
    offsets added to another axis of the same row (hip = waist + offset)."""

    range: tuple[float, float]
    step: float = Field(1.0, gt=0)
    offset_from: str | None = None

    def values(self) -> np.ndarray:
        lo, hi = self.range
        n = round((hi - lo) / self.step) + 1
        return lo + self.step * np.arange(max(n, 0))


class SizeRow(_Model):
    axes: dict[str, SizeAxis]
    price_delta: Decimal = Decimal(0)
    lead_time_days: int = Field(0, ge=0)


class SizeTable(_Model):
    """A compact description of size modules: the cartesian product of each row's axes.

    ``code`` is a ``str.format`` pattern over the axis names (``"W{waist:g}-H{hip:g}"``);
    ``tolerance`` is the half-width of each module on each axis (a measurement fits a module
    when it is within the tolerance of the module's centre).
    """

    code: str
    tolerance: dict[str, float]
    rows: list[SizeRow] = Field(min_length=1)

    def expand(self) -> list[Option]:
        out: list[Option] = []
        for row in self.rows:
            base = {k: a for k, a in row.axes.items() if a.offset_from is None}
            rel = {k: a for k, a in row.axes.items() if a.offset_from is not None}
            names = list(base)
            grids = np.meshgrid(*[base[k].values() for k in names], indexing="ij")
            points = [dict(zip(names, map(float, p), strict=True))
                      for p in zip(*(g.ravel() for g in grids), strict=True)]
            for k, a in rel.items():
                points = [{**p, k: p[str(a.offset_from)] + float(off)}
                          for p in points for off in a.values()]
            for p in points:
                p = {k: round(v, 6) for k, v in p.items()}
                out.append(Option.model_validate(
                    {"value": self.code.format(**p), "measure": p, "properties": p,
                     "tolerance": dict(self.tolerance), "price_delta": row.price_delta,
                     "lead_time_days": row.lead_time_days}))
        return out


class Attribute(_Model):
    """A choice of one module among options. ``group`` "offer" marks whole-offer modules
    (packaging, delivery, invoicing) as opposed to the product itself."""

    name: Slug
    label: str | None = None
    group: Literal["product", "offer"] = "product"
    options: list[Option] = []
    size_table: SizeTable | None = None
    _values: list[Option] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _expand(self) -> Attribute:
        if bool(self.options) == (self.size_table is not None):
            raise ValueError(f"attribute {self.name!r}: give exactly one of options or size_table")
        vals = self.options or self.size_table.expand()  # type: ignore[union-attr]
        seen: set[str] = set()
        for o in vals:
            if o.value in seen:
                raise ValueError(f"attribute {self.name!r}: duplicate option {o.value!r}")
            seen.add(o.value)
        self._values = vals
        return self

    @property
    def values(self) -> list[Option]:
        """The expanded options, in order (their index is the option's code)."""
        return self._values

    def index(self, value: str) -> int:
        for i, o in enumerate(self._values):
            if o.value == value:
                return i
        raise KeyError(value)


class MeasurementInput(_Model):
    """A body or shipment measurement matched against the ``measure`` centres of the options of
    ``attribute`` (several inputs may map to one attribute: waist and hip to ``waist_hip``)."""

    name: Slug
    label: str | None = None
    unit: str = ""
    min: float
    max: float
    attribute: Slug
    required: bool = True


class Negation(_Model):
    not_: list[str] = Field(alias="not", min_length=1)


CondValue = str | list[str] | Negation
Cond = dict[str, CondValue]


class TextOption(_Model):
    """A free-text option (embroidery): validated and priced, not part of the rule diagram.

    It is enabled when ``enabled_by`` holds; giving the text implies that condition, and an
    enabled ``required`` text must be given for the variant to be complete.
    """

    name: Slug
    label: str | None = None
    max_length: int = Field(gt=0, le=60)  # keeps a text within 240 UTF-8 bytes of a code
    allowed_chars: str = Field(min_length=1)
    price: Decimal = Decimal(0)
    price_per_char: Decimal = Decimal(0)
    extra_days: int = Field(0, ge=0)
    enabled_by: Cond = {}
    required: bool = True

    def check(self, text: str) -> str | None:
        """Why ``text`` is not acceptable, or None."""
        if not text:
            return "must not be empty"
        if len(text) > self.max_length:
            return f"at most {self.max_length} characters (got {len(text)})"
        bad = sorted({c for c in text if c not in self.allowed_chars})
        if bad:
            return f"characters not allowed: {''.join(bad)!r}"
        return None

    def cost(self, text: str) -> Decimal:
        return self.price + self.price_per_char * len(text)


class _Rule(_Model):
    id: str | None = None
    message: str | None = None


class Requires(_Rule):
    """When every condition of ``if`` holds, every condition of ``then`` must hold."""

    type: Literal["requires"]
    if_: Cond = Field(alias="if", min_length=1)
    then: Cond = Field(min_length=1)


class Excludes(_Rule):
    """``if`` and ``then`` may not both hold."""

    type: Literal["excludes"]
    if_: Cond = Field(alias="if", min_length=1)
    then: Cond = Field(min_length=1)


class Combinations(_Rule):
    """A table over ``attributes``: only ``allowed`` rows, or anything but ``forbidden`` rows.
    A cell is a value, a list of values or ``"*"``."""

    type: Literal["combinations"]
    attributes: list[str] = Field(min_length=1)
    allowed: list[list[str | list[str]]] | None = None
    forbidden: list[list[str | list[str]]] | None = None

    @model_validator(mode="after")
    def _one(self) -> Combinations:
        if (self.allowed is None) == (self.forbidden is None):
            raise ValueError("give exactly one of allowed or forbidden")
        for row in self.allowed or self.forbidden or []:
            if len(row) != len(self.attributes):
                raise ValueError(f"row {row} has {len(row)} cells for {len(self.attributes)} "
                                 "attributes")
        return self


class Term(_Model):
    attribute: str
    property: str
    coef: float = 1.0


class Bounds(_Rule):
    """A linear bound on numeric option properties: ``min <= sum(coef * property) <= max``."""

    type: Literal["bounds"]
    terms: list[Term] = Field(min_length=1)
    min: float | None = None
    max: float | None = None


class Conditional(_Rule):
    """Rules that apply only when ``when`` holds (``otherwise`` when it does not)."""

    type: Literal["conditional"]
    when: Cond = Field(min_length=1)
    then: list[Rule] = Field(min_length=1)
    otherwise: list[Rule] = []


Rule = Annotated[Requires | Excludes | Combinations | Bounds | Conditional,
                 Field(discriminator="type")]
Conditional.model_rebuild()


class ProductFamily(_Model):
    """A configurable product family (or service bundle), the unit a tenant loads and versions."""

    id: Slug
    name: str
    description: str = ""
    kind: str = "product"
    version: int = Field(1, ge=1)
    currency: str = "EUR"
    base_price: Decimal = Decimal(0)
    assembly_days: int = Field(0, ge=0)
    attributes: list[Attribute] = Field(min_length=1)
    measurements: list[MeasurementInput] = []
    text_options: list[TextOption] = []
    rules: list[Rule] = []

    @model_validator(mode="after")
    def _references(self) -> ProductFamily:
        names = [a.name for a in self.attributes] + [t.name for t in self.text_options]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"attributes: duplicate names {sorted(dup)}")
        for i, m in enumerate(self.measurements):
            loc = f"measurements[{i}]"
            attr = self._attr(m.attribute, f"{loc}.attribute")
            for o in attr.values:
                if m.name not in o.measure or m.name not in o.tolerance:
                    raise ValueError(f"{loc}: option {attr.name}={o.value} has no measure and "
                                     f"tolerance for {m.name!r}")
        for i, t in enumerate(self.text_options):
            self._check_cond(t.enabled_by, f"text_options[{i}].enabled_by")
        ids: set[str] = set()
        for i, r in enumerate(self.rules):
            self._check_rule(r, f"rules[{i}]")
            rid = r.id or f"rule-{i}"
            if rid in ids:
                raise ValueError(f"rules[{i}].id: duplicate rule id {rid!r}")
            ids.add(rid)
        return self

    # -- validation helpers (messages carry the path of the offending field) ------------------
    def _attr(self, name: str, loc: str) -> Attribute:
        for a in self.attributes:
            if a.name == name:
                return a
        raise ValueError(f"{loc}: unknown attribute {name!r}")

    def _check_values(self, attr: Attribute, values: list[str], loc: str) -> None:
        known = {o.value for o in attr.values}
        for v in values:
            if v != "*" and v not in known:
                raise ValueError(f"{loc}: unknown option {v!r} of attribute {attr.name!r}")

    def _check_cond(self, cond: Cond, loc: str) -> None:
        for name, v in cond.items():
            attr = self._attr(name, f"{loc}.{name}")
            vals = [v] if isinstance(v, str) else (v.not_ if isinstance(v, Negation) else v)
            self._check_values(attr, vals, f"{loc}.{name}")

    def _check_rule(self, r: Any, loc: str) -> None:
        if isinstance(r, Requires | Excludes):
            self._check_cond(r.if_, f"{loc}.if")
            self._check_cond(r.then, f"{loc}.then")
        elif isinstance(r, Combinations):
            attrs = [self._attr(n, f"{loc}.attributes[{j}]") for j, n in enumerate(r.attributes)]
            key = "allowed" if r.allowed is not None else "forbidden"
            for k, row in enumerate(r.allowed or r.forbidden or []):
                for j, cell in enumerate(row):
                    self._check_values(attrs[j], [cell] if isinstance(cell, str) else cell,
                                       f"{loc}.{key}[{k}][{j}]")
        elif isinstance(r, Bounds):
            if r.min is None and r.max is None:
                raise ValueError(f"{loc}: give min or max")
            for j, t in enumerate(r.terms):
                attr = self._attr(t.attribute, f"{loc}.terms[{j}].attribute")
                for o in attr.values:
                    if t.property not in o.properties:
                        raise ValueError(f"{loc}.terms[{j}].property: option "
                                         f"{attr.name}={o.value} has no property {t.property!r}")
        elif isinstance(r, Conditional):
            self._check_cond(r.when, f"{loc}.when")
            for j, sub in enumerate(r.then):
                self._check_rule(sub, f"{loc}.then[{j}]")
            for j, sub in enumerate(r.otherwise):
                self._check_rule(sub, f"{loc}.otherwise[{j}]")

    # -- lookups -------------------------------------------------------------------------------
    def attribute(self, name: str) -> Attribute:
        """The attribute called ``name`` (KeyError if none)."""
        for a in self.attributes:
            if a.name == name:
                return a
        raise KeyError(name)

    def text_option(self, name: str) -> TextOption:
        for t in self.text_options:
            if t.name == name:
                return t
        raise KeyError(name)

    def rule_ids(self) -> list[str]:
        return [r.id or f"rule-{i}" for i, r in enumerate(self.rules)]

    def to_json(self) -> dict[str, Any]:
        """The authored (compact) form, JSON-able, that :func:`load_family` reads back."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def load_family(source: str | Path | Mapping[str, Any]) -> ProductFamily:
    """Read and validate a family from a YAML/JSON file path, a YAML/JSON string or a mapping.

    Raises :class:`FamilyError` whose ``loc`` names the offending field.
    """
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        text = str(source)
        path = Path(text)
        if "\n" not in text and len(text) < 4096 and path.suffix in {".yaml", ".yml", ".json"}:
            if not path.exists():
                raise FamilyError(f"no such file: {path}")
            text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError) as exc:
            raise FamilyError(f"not valid YAML/JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FamilyError("a family must be a mapping")
    try:
        return ProductFamily.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise FamilyError(msg, tuple(err["loc"])) from exc


@cache
def _reference(name: str) -> ProductFamily:
    return load_family(FAMILIES_DIR / f"{name}.yaml")


def reference_families() -> dict[str, ProductFamily]:
    """The families shipped with Atelier and offered to every tenant, by id."""
    return {f.id: f for f in (_reference(p.stem) for p in sorted(FAMILIES_DIR.glob("*.yaml")))}
