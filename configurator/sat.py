"""SAT fallback: the same queries as :class:`~configurator.compiler.BDDBackend`, answered by a
CDCL solver (python-sat) for families whose diagram does not compile within budget.

Options are one-hot encoded (exactly one per attribute); every constraint table is cut into
disjoint boxes of forbidden combinations, each a clause guarded by the rule's selector literal,
so subsets of rules can be switched on by assumptions and unsat cores name rules. Validity of an
attribute's options is found by asking for a model with an option not yet witnessed until none
is left; counts use variable elimination over the tables with exact integers. Cheapest
completions are greedy (see :func:`configurator.backend.greedy_minimize`).

Example
-------
>>> import numpy as np
>>> from configurator import load_family
>>> from configurator.constraints import lower
>>> fam = load_family({"id": "mug", "name": "Mug", "attributes": [
...     {"name": "colour", "options": [{"value": "red"}, {"value": "blue"}]},
...     {"name": "size", "options": [{"value": "small"}, {"value": "large"}]}],
...     "rules": [{"id": "no-large-blue", "type": "excludes", "if": {"colour": "blue"},
...                "then": {"size": "large"}}]})
>>> sat = SATBackend(lower(fam))
>>> sat.minimal_rules({0: np.array([False, True]), 1: np.array([False, True])})
[0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from pysat.card import CardEnc, EncType
from pysat.solvers import Solver

from configurator.backend import Constraints, Costs, greedy_minimize
from configurator.constraints import ConstraintProblem


def boxes(table: np.ndarray) -> list[list[np.ndarray]]:
    """Cover the True cells of ``table`` by disjoint boxes (one value mask per axis)."""
    if not table.any():
        return []
    if table.ndim == 1:
        return [[table.copy()]]
    groups: dict[bytes, list[int]] = {}
    for v in range(table.shape[0]):
        if table[v].any():
            groups.setdefault(table[v].tobytes(), []).append(v)
    out = []
    for vals in groups.values():
        head = np.zeros(table.shape[0], bool)
        head[vals] = True
        out += [[head, *rest] for rest in boxes(table[vals[0]])]
    return out


class SATBackend:
    """Solver answers to the :class:`~configurator.backend.Backend` queries."""

    kind = "sat"

    def __init__(self, problem: ConstraintProblem, solver: str = "glucose4") -> None:
        self.problem = problem
        self.solver_name = solver
        self.var: list[np.ndarray] = []
        top = 0
        for n in problem.sizes:
            self.var.append(np.arange(top + 1, top + n + 1))
            top += n
        self.selector = list(range(top + 1, top + 1 + len(problem.constraints)))
        self.clauses: list[list[int]] = []
        top += len(problem.constraints)
        for lits in self.var:
            enc = CardEnc.equals(
                lits=[int(x) for x in lits], bound=1, top_id=top, encoding=EncType.seqcounter
            )
            top = max(top, enc.nv)
            self.clauses += enc.clauses
        for sel, c in zip(self.selector, problem.constraints, strict=True):
            for box in boxes(~c.allowed):
                clause = [-sel]
                for a, m in zip(c.scope, box, strict=True):
                    clause += [int(x) for x in self.var[a][~m]]
                self.clauses.append(clause)
        self.top = top
        self._rows: dict[tuple[int, bytes], np.ndarray] = {}
        self._reset()

    def _reset(self) -> None:
        self.solver = Solver(name=self.solver_name, bootstrap_with=self.clauses)
        self.next_var = self.top + 1

    def _assumptions(
        self, constraints: Constraints, rules: Iterable[int] | None, skip: int | None = None
    ) -> list[int]:
        on = set(range(len(self.selector))) if rules is None else set(rules)
        lits = [s if i in on else -s for i, s in enumerate(self.selector)]
        for a, mask in constraints.items():
            if a == skip:
                continue
            hits = np.flatnonzero(mask)
            if len(hits) == 1:
                lits.append(int(self.var[a][hits[0]]))
            else:
                lits += [-int(x) for x in self.var[a][~mask]]
        return lits

    def satisfiable(self, constraints: Constraints, rules: Iterable[int] | None = None) -> bool:
        return bool(self.solver.solve(assumptions=self._assumptions(constraints, rules)))

    def minimal_rules(self, constraints: Constraints) -> list[int]:
        """The rules of an unsat core of ``constraints``, shrunk by deletion in family order."""
        keep = self.core(constraints)
        for r in list(keep):
            trial = [x for x in keep if x != r]
            if not self.satisfiable(constraints, trial):
                keep = trial
        return keep

    def core(self, constraints: Constraints) -> list[int]:
        """Indices of rules in an unsat core of ``constraints`` (empty when satisfiable)."""
        if self.solver.solve(assumptions=self._assumptions(constraints, None)):
            return []
        index = {s: i for i, s in enumerate(self.selector)}
        return sorted(index[x] for x in (self.solver.get_core() or []) if x in index)

    def _model_values(self, model: Sequence[int]) -> list[int]:
        pos = {x for x in model if x > 0}
        return [int(np.flatnonzero([int(x) in pos for x in lits])[0]) for lits in self.var]

    def valid_masks(
        self, constraints: Constraints, attrs: Iterable[int] | None = None
    ) -> dict[int, np.ndarray]:
        attrs = list(range(len(self.var)) if attrs is None else attrs)
        if self.next_var > self.top + 50_000:  # drop spent activation literals now and then
            self._reset()
        out = {a: np.zeros(len(self.var[a]), bool) for a in attrs}
        free = [a for a in attrs if a not in constraints]
        # one pass per constrained attribute, one shared pass for the unconstrained ones
        passes: list[tuple[int | None, list[int]]] = [(a, [a]) for a in attrs if a in constraints]
        if free:
            passes.append((None, free))
        for skip, targets in passes:
            base = self._assumptions(constraints, None, skip=skip)
            for a in targets:
                while not out[a].all():
                    act = self.next_var
                    self.next_var += 1
                    self.solver.add_clause([-act, *(int(x) for x in self.var[a][~out[a]])])
                    ok = self.solver.solve(assumptions=[*base, act])
                    self.solver.add_clause([-act])
                    if not ok:
                        break
                    vals = self._model_values(self.solver.get_model() or [])
                    for b in targets:
                        out[b][vals[b]] = True
        return out

    def compatible_options(self, attr: int, mask: np.ndarray) -> np.ndarray:
        """See :meth:`configurator.backend.Backend.compatible_options` (one
        :meth:`valid_masks` per pick, remembered until :meth:`clear_caches`)."""
        key = (attr, np.asarray(mask, bool).tobytes())
        row = self._rows.get(key)
        if row is None:
            valid = self.valid_masks({attr: mask})
            valid[attr] = np.ones(len(self.var[attr]), bool)
            row = np.concatenate([valid[a] for a in range(len(self.var))])
            row.flags.writeable = False
            if len(self._rows) > 20_000:
                self._rows.clear()
            self._rows[key] = row
        return row

    def minimize(self, constraints: Constraints, costs: Costs) -> list[int] | None:
        """A greedy completion in ``costs.order`` (no exact minimisation on a solver)."""
        return greedy_minimize(self, constraints, costs)

    def clear_caches(self) -> None:
        """Forget the rows of earlier picks (the clauses stay)."""
        self._rows.clear()

    def count(self, constraints: Constraints) -> int:
        """Exact count by variable elimination over the constraint tables."""
        sizes = self.problem.sizes
        big = math.prod(sizes) >= 2**62
        dtype = object if big else np.int64
        factors: list[tuple[tuple[int, ...], np.ndarray]] = []
        for c in self.problem.constraints:
            factors.append((c.scope, c.allowed.astype(dtype)))
        for a, n in enumerate(sizes):
            m = constraints.get(a)
            factors.append(((a,), (np.ones(n, bool) if m is None else m).astype(dtype)))
        total = 1
        remaining = set(range(len(sizes)))
        while remaining:
            # eliminate the attribute whose joined factor is smallest
            def cost(a: int, factors: list[tuple[tuple[int, ...], np.ndarray]] = factors) -> int:
                scope = set().union(*(f[0] for f in factors if a in f[0]))
                return math.prod(sizes[b] for b in scope)

            a = min(remaining, key=cost)
            remaining.discard(a)
            touching = [f for f in factors if a in f[0]]
            factors = [f for f in factors if a not in f[0]]
            scope = tuple(sorted(set().union(*(f[0] for f in touching))))
            joined = np.ones([1] * len(scope), dtype=dtype)
            for s, t in touching:
                shape = [sizes[b] if b in s else 1 for b in scope]
                joined = joined * t.reshape(shape)
            summed = joined.sum(axis=scope.index(a))
            rest = tuple(b for b in scope if b != a)
            if rest:
                factors.append((rest, summed))
            else:
                total *= int(summed)
        for _, t in factors:
            total *= int(t)
        return int(total)

    @property
    def node_count(self) -> int:
        return len(self.clauses)
