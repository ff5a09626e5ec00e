"""The one interface the engine asks of a compiled family: :class:`Backend`.

Two implementations answer it, chosen once when a family is compiled
(:func:`configurator.compiled.compile_backend`): the decision diagram
(:class:`~configurator.compiler.BDDBackend`, exact and fast) and the SAT solver
(:class:`~configurator.sat.SATBackend`, for families whose diagram does not compile within
budget). Queries take *constraints*: ``attribute index -> boolean mask of allowed options``
(a selection is a one-hot mask).

Example
-------
>>> import numpy as np
>>> from configurator import load_family
>>> from configurator.constraints import lower
>>> from configurator.sat import SATBackend
>>> fam = load_family({"id": "mug", "name": "Mug", "attributes": [
...     {"name": "colour", "options": [{"value": "red"}, {"value": "blue"}]},
...     {"name": "size", "options": [{"value": "small"}, {"value": "large"}]}],
...     "rules": [{"type": "excludes", "if": {"colour": "blue"}, "then": {"size": "large"}}]})
>>> backend: Backend = SATBackend(lower(fam))
>>> backend.count({}), backend.count({0: np.array([False, True])})
(3, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

Constraints = Mapping[int, np.ndarray]


@dataclass(frozen=True, slots=True)
class Costs:
    """Per-option costs of a completion, for :meth:`Backend.minimize`.

    ``scalars[a][j]``: a non-negative integer per option (the criteria folded so that sums
    compare like the criteria, lexicographically); ``ranks[a]``: the order of ``scalars[a]`` as
    distinct small integers; ``order``: the attributes by priority, for a backend that completes
    greedily (each attribute in turn takes its best still-valid option).
    """

    scalars: Sequence[Sequence[int]]
    ranks: Sequence[np.ndarray]
    order: Sequence[int]


class Backend(Protocol):
    """Answers about the valid variants of one compiled family (see the module docstring)."""

    #: "bdd" or "sat", as ``GET /v1/configurator/products/{id}`` reports it.
    kind: str

    @property
    def node_count(self) -> int:
        """Size of the compiled form (diagram nodes or clauses)."""
        ...

    def satisfiable(self, constraints: Constraints, rules: Iterable[int] | None = None) -> bool:
        """Whether some variant meets ``constraints`` and the rules (all, or those listed)."""
        ...

    def count(self, constraints: Constraints) -> int:
        """Exact number of valid complete variants meeting ``constraints``."""
        ...

    def valid_masks(
        self, constraints: Constraints, attrs: Iterable[int] | None = None
    ) -> dict[int, np.ndarray]:
        """For each attribute (all, or those listed), the options that extend the constraints
        on the *other* attributes to a valid variant (sound and complete)."""
        ...

    def compatible_options(self, attr: int, mask: np.ndarray) -> np.ndarray:
        """Options of every attribute, concatenated in attribute order, that some valid variant
        with ``attr`` in ``mask`` contains (all True on ``attr`` itself). Never modify it."""
        ...

    def minimal_rules(self, constraints: Constraints) -> list[int]:
        """A minimal set of rules that with ``constraints`` admits no variant (empty when some
        variant meets them)."""
        ...

    def minimize(self, constraints: Constraints, costs: Costs) -> list[int] | None:
        """A valid completion of ``constraints`` of least summed cost (one option index per
        attribute), or None when no variant meets them."""
        ...

    def clear_caches(self) -> None:
        """Forget what earlier queries built (the compiled form stays)."""
        ...


def greedy_minimize(backend: Backend, constraints: Constraints, costs: Costs) -> list[int] | None:
    """Complete ``constraints`` attribute by attribute in ``costs.order``, each taking its
    lowest-ranked still-valid option. Validity is complete, so the walk never dead-ends; the
    result is valid but only the best in priority order, not the least summed cost."""
    cur = dict(constraints)
    if not backend.satisfiable(cur):
        return None
    n = len(costs.ranks)
    picked = [-1] * n
    for a in [*costs.order, *range(n)]:
        if picked[a] >= 0:
            continue
        m = cur.get(a)
        hits = np.flatnonzero(m) if m is not None else None
        if hits is not None and len(hits) == 1:  # fixed already: the walk keeps it
            choice = int(hits[0])
        else:
            ok = backend.valid_masks(cur, [a])[a]
            if m is not None:
                ok = ok & m
            cand = np.flatnonzero(ok)
            if len(cand) == 0:
                return None
            choice = int(cand[np.argmin(costs.ranks[a][cand])])
        picked[a] = choice
        one = np.zeros(len(costs.ranks[a]), bool)
        one[choice] = True
        cur[a] = one
    return picked
