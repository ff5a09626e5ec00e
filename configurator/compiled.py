"""A family compiled once: its constraint problem, the backend chosen for it and the
request-independent tables every query module reads (option indices, one-hot rows, the
options valid in some variant, the variant count).

Example
-------
>>> from configurator import reference_families
>>> cf = CompiledFamily(reference_families()["logistics-bundle"])
>>> cf.backend.kind, cf.variant_count, cf.names[:2]
('bdd', 10392, ['load_class', 'transport'])
"""

from __future__ import annotations

import hashlib
import json
import threading
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from configurator.backend import Backend
from configurator.compiler import BDDBackend, CompileBudgetExceeded
from configurator.constraints import ConstraintProblem, lower
from configurator.errors import InputError
from configurator.family import Negation, Option, ProductFamily
from configurator.sat import SATBackend


def fingerprint(family: ProductFamily) -> str:
    """SHA-256 of the family's content: the same definition, the same fingerprint."""
    return hashlib.sha256(json.dumps(family.to_json(), sort_keys=True).encode()).hexdigest()


def compile_backend(
    problem: ConstraintProblem, family_id: str, backend: str = "auto", budget_s: float = 5.0
) -> Backend:
    """The backend answering for ``problem``: ``"bdd"``, ``"sat"``, or ``"auto"`` (a decision
    diagram, or SAT when the diagram does not compile within ``budget_s``)."""
    if backend == "sat":
        return SATBackend(problem)
    try:
        return BDDBackend(problem, budget_s=None if backend == "bdd" else budget_s)
    except CompileBudgetExceeded as exc:
        warnings.warn(
            f"family {family_id!r}: {exc}; answering with the SAT backend",
            RuntimeWarning,
            stacklevel=3,
        )
        return SATBackend(problem)


class CompiledFamily:
    """One family's problem, backend and shared tables (see the module docstring).

    Parameters
    ----------
    family : ProductFamily
    secret : bytes
        Key of the variant-code integrity tag (a deployment secret makes codes unforgeable).
    backend, budget_s
        See :func:`compile_backend`.

    ``lock`` serialises queries: CUDD managers are not thread-safe.
    """

    def __init__(
        self,
        family: ProductFamily,
        *,
        secret: bytes = b"",
        backend: str = "auto",
        budget_s: float = 5.0,
    ) -> None:
        self.family = family
        self.problem: ConstraintProblem = lower(family)
        self.fingerprint = fingerprint(family)
        self.key = secret + bytes.fromhex(self.fingerprint)
        self.lock = threading.RLock()
        self.backend = compile_backend(self.problem, family.id, backend, budget_s)
        self.attrs = family.attributes
        # plain lists and arrays: pydantic private attributes are slow on hot paths
        self.opts: list[list[Option]] = [list(a.values) for a in self.attrs]
        self.names = [a.name for a in self.attrs]
        self.index = self.problem.index
        self.opt_index = [{o.value: j for j, o in enumerate(op)} for op in self.opts]
        self.values = [[o.value for o in op] for op in self.opts]
        self.sizes = [len(op) for op in self.opts]
        self.texts = {t.name: t for t in family.text_options}
        self.rule_ids = [c.id for c in self.problem.constraints]
        self.rule_msgs = [c.message for c in self.problem.constraints]
        self.rule_scope = [set(c.scope) for c in self.problem.constraints]
        self._eye = [np.eye(n, dtype=bool) for n in self.sizes]  # one-hot rows
        for e in self._eye:
            e.flags.writeable = False  # shared by every pick: never modified in place
        self.text_cond = {t.name: self.cond_masks(t.enabled_by) for t in family.text_options}
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        self.none = [np.zeros(n, bool) for n in self.sizes]
        with self.lock:
            self.global_valid = self.backend.valid_masks({})
            self.variant_count = self.backend.count({})

    def onehot(self, a: int, j: int) -> np.ndarray:
        """The mask of option ``j`` alone of attribute ``a`` (shared: never modify it)."""
        return self._eye[a][j]

    def cond_masks(self, cond: Mapping[str, Any]) -> dict[int, np.ndarray]:
        """A family condition (``{attribute: value, [values] or {"not": [...]}}``) as masks."""
        out = {}
        for name, v in cond.items():
            a = self.index[name]
            vals = self.opts[a]
            if isinstance(v, Negation):
                out[a] = np.array([o.value not in v.not_ for o in vals])
            else:
                chosen = {v} if isinstance(v, str) else set(v)
                out[a] = np.array([o.value in chosen for o in vals])
        return out

    def attribute(self, attr: str, loc: str) -> int:
        """The index of attribute ``attr``; :class:`InputError` at ``(loc, attr)`` if unknown."""
        a = self.index.get(attr)
        if a is None:
            raise InputError(f"unknown attribute {attr!r} of {self.family.id}", (loc, attr))
        return a

    def option(self, attr: str, value: Any, loc: str) -> tuple[int, int]:
        """``(attribute index, option index)`` of ``attr=value``; :class:`InputError` if
        either is unknown."""
        a = self.attribute(attr, loc)
        if not isinstance(value, str) or value not in self.opt_index[a]:
            raise InputError(f"unknown option {value!r} of attribute {attr!r}", (loc, attr))
        return a, self.opt_index[a][value]

    def selections(self, fixed: Mapping[int, int]) -> dict[str, str]:
        """``{attribute: option value}`` of a complete assignment, in family order."""
        return {self.names[a]: self.values[a][fixed[a]] for a in range(len(self.attrs))}
