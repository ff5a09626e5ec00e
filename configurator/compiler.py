"""Compile a :class:`~configurator.problem.Problem` into a binary decision diagram.

Each attribute is log-encoded on ``ceil(log2(n))`` variables (its bits stay grouped so
reordering cannot interleave them); every constraint table becomes a diagram by Shannon
expansion with identical sub-tables merged, and their conjunction with the domain constraints is
the family's diagram ``f``. Dynamic reordering (sifting) runs while compiling and is switched off
afterwards so that query latency is stable. A compile that exceeds its time or node budget raises
:class:`CompileBudgetExceeded` and the engine falls back to :mod:`configurator.sat`.

Queries take *constraints*: a mapping ``attribute index -> boolean mask of allowed options``
(a selection is a one-hot mask).
"""

from __future__ import annotations

import atexit
import math
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from configurator.errors import ConfiguratorError
from configurator.problem import Problem

try:  # CUDD (C) when the wheel has it, else the pure-Python implementation
    import dd.cudd as _dd

    HAVE_CUDD = True
except ImportError:  # pragma: no cover - depends on the installed wheel
    import dd.autoref as _dd

    HAVE_CUDD = False

Constraints = Mapping[int, np.ndarray]
EXACT_FLOAT = 2**53


_LIVE: weakref.WeakSet[BDDBackend] = weakref.WeakSet()


@atexit.register
def _release_all() -> None:
    # CUDD asserts at interpreter exit if diagrams outlive their manager; drop them first.
    for backend in list(_LIVE):
        backend.close()


class CompileBudgetExceeded(ConfiguratorError):
    """The diagram did not compile within the time or node budget."""


def _nbits(n: int) -> int:
    return max(1, math.ceil(math.log2(n))) if n > 1 else 1


class BDDBackend:
    """Decision-diagram answers to the engine's queries (see module docstring).

    Parameters
    ----------
    problem : Problem
    budget_s : float, optional
        Wall-clock budget for compiling; None for no limit.
    max_nodes : int
        Node budget of the final diagram.
    """

    kind = "bdd"

    def __init__(self, problem: Problem, budget_s: float | None = 5.0,
                 max_nodes: int = 2_000_000) -> None:
        t0 = time.perf_counter()
        self.problem = problem
        self.bdd = bdd = _dd.BDD()
        self.bits: list[list[str]] = []
        self.weight: dict[str, tuple[int, int]] = {}  # bit var -> (attribute, bit weight)
        for a, n in enumerate(problem.sizes):
            k = _nbits(n)
            names = [f"a{a}b{j}" for j in range(k)]  # b0 is the most significant bit
            bdd.declare(*names)
            self.bits.append(names)
            for j, v in enumerate(names):
                self.weight[v] = (a, 1 << (k - 1 - j))
        if HAVE_CUDD:
            for names in self.bits:
                if len(names) > 1:
                    bdd.group({names[0]: len(names)})
        bdd.configure(reordering=True)
        self._set_cache: dict[tuple[int, bytes], Any] = {}
        self.domain = bdd.true
        for a, n in enumerate(problem.sizes):
            self.domain &= self.in_set(a, np.ones(n, bool))
        self.rules: list[Any] = []
        f = self.domain
        for c in problem.constraints:
            u = self._table(c.scope, c.allowed, {})
            self.rules.append(u)
            f &= u
            elapsed = time.perf_counter() - t0
            if budget_s is not None and elapsed > budget_s:
                self.close()
                raise CompileBudgetExceeded(f"compile exceeded {budget_s:g} s at rule {c.id}")
            if len(f) > max_nodes:
                self.close()
                raise CompileBudgetExceeded(f"diagram exceeded {max_nodes} nodes at rule {c.id}")
        _dd.reorder(bdd)
        bdd.configure(reordering=False)
        self.f = f
        self.nvars = sum(len(b) for b in self.bits)
        self.others = [set(self.weight) - set(self.bits[a]) for a in range(len(self.bits))]
        self.compile_seconds = time.perf_counter() - t0
        _LIVE.add(self)
        # blocks of attribute bits in level order (needed by the cost minimisation)
        first = {a: min(bdd.level_of_var(v) for v in names) for a, names in enumerate(self.bits)}
        self.block_order = sorted(first, key=first.__getitem__)
        self.block_of = {a: i for i, a in enumerate(self.block_order)}
        self._arange = [np.arange(n) for n in problem.sizes]
        self._exit_cache: dict[Any, list[tuple[np.ndarray, Any]]] = {}
        self._min_cache: dict[Any, tuple[int, ...]] = {}
        self.contiguous = all(
            sorted(bdd.level_of_var(v) for v in names)
            == list(range(first[a], first[a] + len(names))) for a, names in enumerate(self.bits))

    # -- building ---------------------------------------------------------------------------
    def in_set(self, a: int, mask: np.ndarray) -> Any:
        """Diagram of "attribute ``a`` takes one of the options in ``mask``"."""
        key = (a, np.asarray(mask, bool).tobytes())
        hit = self._set_cache.get(key)
        if hit is not None:
            return hit
        names = self.bits[a]
        full = np.zeros(1 << len(names), bool)
        full[: len(mask)] = mask

        def rec(j: int, m: np.ndarray) -> Any:
            if m.all():
                return self.bdd.true
            if not m.any():
                return self.bdd.false
            half = len(m) // 2
            return self.bdd.ite(self.bdd.var(names[j]), rec(j + 1, m[half:]), rec(j + 1, m[:half]))

        u = rec(0, full)
        self._set_cache[key] = u
        return u

    def _table(self, scope: Sequence[int], table: np.ndarray, memo: dict[Any, Any]) -> Any:
        if table.all():
            return self.bdd.true
        if not table.any():
            return self.bdd.false
        key = (len(scope), table.tobytes())
        if key in memo:
            return memo[key]
        groups: dict[bytes, list[int]] = {}
        for v in range(table.shape[0]):
            groups.setdefault(table[v].tobytes(), []).append(v)
        u = self.bdd.false
        for vals in groups.values():
            sub = self._table(scope[1:], table[vals[0]], memo)
            if sub == self.bdd.false:
                continue
            mask = np.zeros(table.shape[0], bool)
            mask[vals] = True
            u |= self.in_set(scope[0], mask) & sub
        memo[key] = u
        return u

    # -- queries ----------------------------------------------------------------------------
    def _assignment(self, a: int, v: int) -> dict[str, bool]:
        k = len(self.bits[a])
        return {name: bool((v >> (k - 1 - j)) & 1) for j, name in enumerate(self.bits[a])}

    def restrict(self, u: Any, constraints: Constraints, skip: int | None = None) -> Any:
        """``u`` under ``constraints`` (ignoring attribute ``skip``)."""
        assign: dict[str, bool] = {}
        for a, mask in constraints.items():
            if a == skip:
                continue
            hits = np.flatnonzero(mask)
            if len(hits) == 1:
                assign.update(self._assignment(a, int(hits[0])))
            else:
                u = u & self.in_set(a, mask)
        return self.bdd.let(assign, u) if assign else u

    def satisfiable(self, constraints: Constraints, rules: Iterable[int] | None = None) -> bool:
        """Whether some variant meets ``constraints`` and the rules (all, or those listed)."""
        if rules is None:
            u = self.f
        else:
            u = self.domain
            for r in rules:
                u = u & self.rules[r]
        return self.restrict(u, constraints) != self.bdd.false

    def _mask(self, u: Any, a: int) -> np.ndarray:
        """Options of ``a`` allowed by ``u`` (a diagram over ``a``'s bits only)."""
        n = self.problem.sizes[a]
        out = np.zeros(n, bool)
        true, false = self.bdd.true, self.bdd.false
        vals = np.arange(n)
        stack = [(u, 0, 0)]
        while stack:
            node, care, bits = stack.pop()
            if node == true:
                out |= (vals & care) == bits
                continue
            if node == false:
                continue
            w = self.weight[node.var][1]
            lo, hi = node.low, node.high
            if node.negated:
                lo, hi = ~lo, ~hi
            stack.append((lo, care | w, bits))
            stack.append((hi, care | w, bits | w))
        return out

    def valid_masks(self, constraints: Constraints,
                    attrs: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """For each attribute, the options that extend the constraints on the *other*
        attributes to a valid variant (complete and sound by construction)."""
        attrs = range(len(self.bits)) if attrs is None else attrs
        shared = None
        out = {}
        for a in attrs:
            if a in constraints:
                g = self.restrict(self.f, constraints, skip=a)
            else:
                if shared is None:
                    shared = self.restrict(self.f, constraints)
                g = shared
            out[a] = self._mask(self.bdd.exist(self.others[a], g), a)
        return out

    def count(self, constraints: Constraints) -> int:
        """Exact number of valid complete variants meeting ``constraints``."""
        u = self.restrict(self.f, constraints)
        if u == self.bdd.false:
            return 0
        fixed = sum(len(self.bits[a]) for a, m in constraints.items() if m.sum() == 1)
        n = self.bdd.count(u, self.nvars - fixed)
        if n < EXACT_FLOAT:
            return round(n)
        return self._exact_count(u, self.nvars - fixed)

    def _exact_count(self, u: Any, nvars: int) -> int:
        # CUDD counts in doubles; above 2**53 recount with Python integers.
        levels = sorted(self.bdd.level_of_var(v) for v in self.bdd.support(u))
        rank = {lev: i for i, lev in enumerate(levels)}
        top = len(levels)
        memo: dict[Any, int] = {}

        def rec(node: Any) -> tuple[int, int]:
            if node == self.bdd.true:
                return 1, top
            if node == self.bdd.false:
                return 0, top
            hit = memo.get(node)
            r = rank[self.bdd.level_of_var(node.var)]
            if hit is None:
                lo, hi = node.low, node.high
                if node.negated:
                    lo, hi = ~lo, ~hi
                cl, rl = rec(lo)
                ch, rh = rec(hi)
                hit = cl * 2 ** (rl - r - 1) + ch * 2 ** (rh - r - 1)
                memo[node] = hit
            return hit, r

        c, r = rec(u)
        memo.clear()
        return c * 2 ** r * 2 ** (nvars - top)

    def _exits(self, u: Any, a: int) -> list[tuple[np.ndarray, Any]]:
        """Paths from ``u`` through attribute ``a``'s block: (option indices, exit node)."""
        hit = self._exit_cache.get(u)
        if hit is not None:
            return hit
        out = []
        true, false = self.bdd.true, self.bdd.false
        vals = self._arange[a]
        stack = [(u, 0, 0)]
        while stack:
            node, care, bits = stack.pop()
            if node == false:
                continue
            if node == true or self.weight[node.var][0] != a:
                ok = vals[(vals & care) == bits]
                if len(ok):
                    out.append((ok, node))
                continue
            w = self.weight[node.var][1]
            lo, hi = node.low, node.high
            if node.negated:
                lo, hi = ~lo, ~hi
            stack.append((lo, care | w, bits))
            stack.append((hi, care | w, bits | w))
        if len(self._exit_cache) > 200_000:
            self._exit_cache.clear()
        self._exit_cache[u] = out
        return out

    def minimize(self, constraints: Constraints,
                 weights: Sequence[np.ndarray]) -> list[int] | None:
        """The valid completion of ``constraints`` whose summed weight vectors are
        lexicographically smallest (``weights[a]``: non-negative int matrix, one row of criteria
        per option of attribute ``a``). Returns one option index per attribute, or None.

        A dynamic programme over the diagram: each attribute's bits form a contiguous block, so a
        path crosses a block through a set of option values and pays the best one of them.
        Criteria are folded into one Python integer per option (mixed radix, wide enough that
        sums cannot carry), which keeps the comparison exact and the loop cheap.
        """
        if not self.contiguous:
            return None
        g = self.restrict(self.f, constraints)
        true, false = self.bdd.true, self.bdd.false
        if g == false:
            return None
        nb = len(self.block_order)
        d = weights[0].shape[1]
        bound = [int(x) + 1 for x in np.sum([w.max(axis=0) for w in weights], axis=0)]
        scalar = []
        for w in weights:
            acc = np.zeros(len(w), dtype=object)
            for c in range(d):
                acc = acc * bound[c] + w[:, c].astype(object)
            scalar.append(acc)
        # g alone does not say which values the let-restricted attributes took
        key = (g, tuple(sorted((a, m.tobytes()) for a, m in constraints.items())),
               b"".join(np.ascontiguousarray(w).tobytes() for w in weights))
        hit = self._min_cache.get(key)
        if hit is not None:
            return list(hit)
        rank = [np.argsort(np.argsort(sw, kind="stable"), kind="stable") for sw in scalar]
        skip_best = []
        for a in range(nb):
            allowed = constraints.get(a)
            cand = np.flatnonzero(allowed) if allowed is not None else self._arange[a]
            skip_best.append(int(cand[np.argmin(rank[a][cand])]))
        prefix = [0]
        for b in range(nb):
            a = self.block_order[b]
            prefix.append(prefix[-1] + scalar[a][skip_best[a]])

        def block(node: Any) -> int:
            return nb if node == true else self.block_of[self.weight[node.var][0]]

        memo: dict[Any, tuple[int, int, Any]] = {}

        def cost(u: Any) -> int:
            if u == true:
                return 0
            hit = memo.get(u)
            if hit is not None:
                return hit[0]
            b = block(u)
            a = self.block_order[b]
            sw, rk = scalar[a], rank[a]
            best: tuple[int, int, Any] | None = None
            for vals, nxt in self._exits(u, a):
                v = int(vals[np.argmin(rk[vals])]) if len(vals) > 1 else int(vals[0])
                nb2 = block(nxt)
                total = sw[v] + prefix[nb2] - prefix[b + 1] + cost(nxt)
                if best is None or total < best[0]:
                    best = (total, v, nxt)
            assert best is not None  # a reduced diagram's non-false node reaches true
            memo[u] = best
            return best[0]

        cost(g)
        out = list(skip_best)
        node = g
        while node != true:
            _, v, nxt = memo[node]
            out[self.block_order[block(node)]] = v
            node = nxt
        memo.clear()  # the recursive closure is a cycle: free its diagrams now, not at gc time
        if len(self._min_cache) > 10_000:
            self._min_cache.clear()
        self._min_cache[key] = tuple(out)
        return out

    def __del__(self) -> None:
        # release diagrams before the manager: CUDD asserts when nodes outlive it
        self.close()

    def close(self) -> None:
        """Drop every diagram this backend holds (the manager can then be freed cleanly)."""
        for name in ("_set_cache", "_exit_cache", "_min_cache"):
            getattr(self, name, {}).clear()
        self.rules = []
        self.f = self.domain = None

    @property
    def node_count(self) -> int:
        return len(self.f)
