"""A family lowered to a finite constraint problem: attribute domains and constraint tables.

Every rule (and every out-of-stock option) becomes a :class:`Constraint`: a boolean numpy table
over the option indices of the attributes it mentions. Both backends (decision diagram and SAT)
and the brute-force test oracle are built from these tables, so they cannot disagree on what a
rule means.

Example
-------
>>> from configurator import load_family
>>> problem = lower(load_family({"id": "mug", "name": "Mug", "attributes": [
...     {"name": "colour", "options": [{"value": "red"}, {"value": "blue"}]},
...     {"name": "size", "options": [{"value": "small"}, {"value": "large"}]}],
...     "rules": [{"type": "excludes", "if": {"colour": "blue"}, "then": {"size": "large"}}]}))
>>> problem.constraints[0].allowed.tolist(), brute_force(problem)
([[True, True], [True, False]], [(0, 0), (0, 1), (1, 0)])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import numpy as np

from configurator.errors import FamilyError
from configurator.family import (
    Bounds,
    Combinations,
    Cond,
    Conditional,
    Excludes,
    Negation,
    ProductFamily,
    Requires,
)

MAX_TABLE = 4_000_000  # entries of one rule table; larger rules must be split by the author


@dataclass(frozen=True)
class Constraint:
    """Allowed combinations ``allowed[i1, i2, ...]`` of option indices of ``scope``."""

    id: str
    message: str
    scope: tuple[int, ...]
    allowed: np.ndarray


@dataclass
class ConstraintProblem:
    """Attribute names, their option values, and the constraints between them."""

    attrs: list[str]
    values: list[list[str]]
    constraints: list[Constraint]
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.index = {a: i for i, a in enumerate(self.attrs)}

    @property
    def sizes(self) -> list[int]:
        return [len(v) for v in self.values]

    def satisfied(self, assignment: tuple[int, ...]) -> bool:
        """Whether a complete assignment (one option index per attribute) meets every rule."""
        return all(bool(c.allowed[tuple(assignment[a] for a in c.scope)]) for c in self.constraints)


class _Lowering:
    def __init__(self, fam: ProductFamily) -> None:
        self.fam = fam
        self.attrs = [a.name for a in fam.attributes]
        self.idx = {a: i for i, a in enumerate(self.attrs)}
        self.values = [[o.value for o in a.values] for a in fam.attributes]

    def mask(self, attr: str, v: Any) -> np.ndarray:
        vals = self.values[self.idx[attr]]
        if isinstance(v, Negation):
            return ~self.mask(attr, v.not_)
        chosen = {v} if isinstance(v, str) else set(v)
        if "*" in chosen:
            return np.ones(len(vals), bool)
        return np.array([x in chosen for x in vals], bool)

    def cond_scope(self, cond: Cond) -> list[int]:
        return [self.idx[a] for a in cond]

    def rule_scope(self, r: Any) -> list[int]:
        if isinstance(r, Requires | Excludes):
            s = self.cond_scope(r.if_) + self.cond_scope(r.then)
        elif isinstance(r, Combinations):
            s = [self.idx[a] for a in r.attributes]
        elif isinstance(r, Bounds):
            s = [self.idx[t.attribute] for t in r.terms]
        else:
            s = self.cond_scope(r.when)
            for sub in [*r.then, *r.otherwise]:
                s += self.rule_scope(sub)
        return sorted(set(s))

    def broadcast(self, scope: list[int], attr: int, vec: np.ndarray) -> np.ndarray:
        shape = [1] * len(scope)
        shape[scope.index(attr)] = len(vec)
        return vec.reshape(shape)

    def cond_table(self, cond: Cond, scope: list[int]) -> np.ndarray:
        t = np.ones([len(self.values[a]) for a in scope], bool)
        for name, v in cond.items():
            t = t & self.broadcast(scope, self.idx[name], self.mask(name, v))
        return t

    def table(self, r: Any, scope: list[int]) -> np.ndarray:
        shape = [len(self.values[a]) for a in scope]
        if isinstance(r, Requires):
            return ~self.cond_table(r.if_, scope) | self.cond_table(r.then, scope)
        if isinstance(r, Excludes):
            return ~(self.cond_table(r.if_, scope) & self.cond_table(r.then, scope))
        if isinstance(r, Combinations):
            hit = np.zeros(shape, bool)
            for row in r.allowed or r.forbidden or []:
                cell = np.ones(shape, bool)
                for name, v in zip(r.attributes, row, strict=True):
                    cell = cell & self.broadcast(scope, self.idx[name], self.mask(name, v))
                hit |= cell
            return hit if r.allowed is not None else ~hit
        if isinstance(r, Bounds):
            total = np.zeros(shape)
            for t in r.terms:
                a = self.idx[t.attribute]
                vec = np.array([o.properties[t.property] for o in self.fam.attributes[a].values])
                total = total + self.broadcast(scope, a, t.coef * vec)
            ok = np.ones(shape, bool)
            eps = 1e-9
            if r.min is not None:
                ok &= total >= r.min - eps
            if r.max is not None:
                ok &= total <= r.max + eps
            return ok
        assert isinstance(r, Conditional)
        when = self.cond_table(r.when, scope)
        then = np.ones(shape, bool)
        for sub in r.then:
            then &= self.table(sub, scope)
        other = np.ones(shape, bool)
        for sub in r.otherwise:
            other &= self.table(sub, scope)
        return (when & then) | (~when & other)


def _describe(r: Any) -> str:
    def cond(c: Cond) -> str:
        parts = []
        for k, v in c.items():
            if isinstance(v, Negation):
                parts.append(f"{k} not in {{{', '.join(v.not_)}}}")
            elif isinstance(v, str):
                parts.append(f"{k}={v}")
            else:
                parts.append(f"{k} in {{{', '.join(v)}}}")
        return " and ".join(parts)

    if isinstance(r, Requires):
        return f"{cond(r.if_)} requires {cond(r.then)}"
    if isinstance(r, Excludes):
        return f"{cond(r.if_)} excludes {cond(r.then)}"
    if isinstance(r, Combinations):
        return f"only allowed combinations of {', '.join(r.attributes)}"
    if isinstance(r, Bounds):
        expr = " + ".join(f"{t.coef:g}*{t.attribute}.{t.property}" for t in r.terms)
        lo = "" if r.min is None else f"{r.min:g} <= "
        hi = "" if r.max is None else f" <= {r.max:g}"
        return f"{lo}{expr}{hi}"
    return f"when {cond(r.when)}: " + "; ".join(_describe(s) for s in r.then)


def lower(fam: ProductFamily) -> ConstraintProblem:
    """Lower a family to a :class:`ConstraintProblem` (raises :class:`FamilyError` on huge tables)."""
    low = _Lowering(fam)
    cons: list[Constraint] = []
    for i, (rid, r) in enumerate(zip(fam.rule_ids(), fam.rules, strict=True)):
        scope = low.rule_scope(r)
        size = math.prod(len(low.values[a]) for a in scope)
        if size > MAX_TABLE:
            raise FamilyError(
                f"rule spans {size} combinations (max {MAX_TABLE}); split it", ("rules", i)
            )
        cons.append(Constraint(rid, r.message or _describe(r), tuple(scope), low.table(r, scope)))
    for a, attr in enumerate(fam.attributes):
        for j, o in enumerate(attr.values):
            if o.out_of_stock:
                allowed = np.ones(len(attr.values), bool)
                allowed[j] = False
                cons.append(
                    Constraint(
                        f"stock:{attr.name}={o.value}",
                        f"{attr.name}={o.value} is out of stock",
                        (a,),
                        allowed,
                    )
                )
    return ConstraintProblem(low.attrs, low.values, cons)


def brute_force(problem: ConstraintProblem) -> list[tuple[int, ...]]:
    """Every valid complete assignment, by enumeration (test oracle for small problems)."""
    return [t for t in product(*(range(n) for n in problem.sizes)) if problem.satisfied(t)]
