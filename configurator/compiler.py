"""Compile a :class:`~configurator.constraints.ConstraintProblem` into a binary decision diagram.

Each attribute is log-encoded on ``ceil(log2(n))`` variables (its bits stay grouped so
reordering cannot interleave them); every constraint table becomes a diagram by Shannon
expansion with identical sub-tables merged, and their conjunction with the domain constraints is
the family's diagram ``f``. Dynamic reordering (sifting) runs while compiling and is switched off
afterwards so that query latency is stable. A compile that exceeds its time or node budget raises
:class:`CompileBudgetExceeded` and the engine falls back to :mod:`configurator.sat`.

Queries are those of :class:`configurator.backend.Backend`. Request-independent tables are built
with the diagram: the *block graph* (cheapest completions and valid options without building a
diagram per request) and the *pair tables* (which option pairs some variant contains).

One module although it is longer than the house's 600 lines: every part (compiling, queries,
the block graph, the pair tables) reads the nodes of one CUDD manager, which must not outlive
the diagrams built on it, so they stay together in one class.

Example
-------
>>> from configurator import load_family
>>> from configurator.constraints import lower
>>> fam = load_family({"id": "mug", "name": "Mug", "attributes": [
...     {"name": "colour", "options": [{"value": "red"}, {"value": "blue"}]},
...     {"name": "size", "options": [{"value": "small"}, {"value": "large"}]}],
...     "rules": [{"type": "excludes", "if": {"colour": "blue"}, "then": {"size": "large"}}]})
>>> bdd = BDDBackend(lower(fam))
>>> bdd.count({}), bdd.compatible(0, 1).tolist()
(3, [[True, True], [True, False]])
"""

from __future__ import annotations

import atexit
import math
import time
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from configurator.backend import Constraints, Costs, greedy_minimize
from configurator.constraints import ConstraintProblem
from configurator.errors import ConfiguratorError

try:  # CUDD (C) when the wheel has it, else the pure-Python implementation
    import dd.cudd as _dd

    HAVE_CUDD = True
except ImportError:  # pragma: no cover - depends on the installed wheel
    import dd.autoref as _dd

    HAVE_CUDD = False

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
    """Decision-diagram answers to the :class:`~configurator.backend.Backend` queries.

    Parameters
    ----------
    problem : ConstraintProblem
    budget_s : float, optional
        Wall-clock budget for compiling; None for no limit.
    max_nodes : int
        Node budget of the final diagram.
    """

    kind = "bdd"

    def __init__(
        self, problem: ConstraintProblem, budget_s: float | None = 5.0, max_nodes: int = 2_000_000
    ) -> None:
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
        self._cubes: list[list[Any]] = []  # per option, filled once the diagram is compiled
        self._dom: list[Any] = []
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
        self.diagram_seconds = time.perf_counter() - t0  # the diagram alone, before the tables
        _LIVE.add(self)
        # blocks of attribute bits in level order (needed by the cost minimisation)
        first = {a: min(bdd.level_of_var(v) for v in names) for a, names in enumerate(self.bits)}
        self.block_order = sorted(first, key=first.__getitem__)
        self.block_of = {a: i for i, a in enumerate(self.block_order)}
        self._arange = [np.arange(n) for n in problem.sizes]
        self._exit_cache: dict[Any, list[tuple[np.ndarray, Any]]] = {}
        self.contiguous = all(
            sorted(bdd.level_of_var(v) for v in names)
            == list(range(first[a], first[a] + len(names)))
            for a, names in enumerate(self.bits)
        )
        # request-independent parts of the answers, computed once with the diagram
        self._lits = [
            [self._assignment(a, v) for v in range(n)] for a, n in enumerate(problem.sizes)
        ]
        self._dom = [self.in_set(a, np.ones(n, bool)) for a, n in enumerate(problem.sizes)]
        self._cubes = [[bdd.cube(lit) for lit in lits] for lits in self._lits]
        self._build_graph()
        self.pairs = self._pair_tables()
        self._rowmat = self._pick_rows()
        self._exit_cache.clear()
        self.compile_seconds = time.perf_counter() - t0

    # -- building ---------------------------------------------------------------------------
    def in_set(self, a: int, mask: np.ndarray) -> Any:
        """Diagram of "attribute ``a`` takes one of the options in ``mask``"."""
        key = (a, np.asarray(mask, bool).tobytes())
        hit = self._set_cache.get(key)
        if hit is not None:
            return hit
        cubes = self._cubes[a] if a < len(self._cubes) else None
        if cubes is not None:  # few options in or out: a disjunction of option cubes
            on = np.flatnonzero(mask)
            off = np.flatnonzero(~np.asarray(mask, bool))
            if len(on) <= 16 or len(off) <= 16:
                u = self.bdd.false
                for j in (on if len(on) <= len(off) else off).tolist():
                    u = u | cubes[j]
                if len(on) > len(off):
                    u = self._dom[a] & ~u
                self._set_cache[key] = u
                return u
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
                assign.update(self._lits[a][hits[0]])
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

    def minimal_rules(self, constraints: Constraints) -> list[int]:
        """A minimal set of rules that with ``constraints`` admits no variant (deletion over
        every rule in family order, see :meth:`shrink_rules`)."""
        return self.shrink_rules(constraints, list(range(len(self.rules))))

    def shrink_rules(self, constraints: Constraints, rules: Sequence[int]) -> list[int]:
        """Deletion in the order given: drop each rule whose absence still leaves
        ``constraints`` unsatisfiable (a minimal unsatisfiable subset if ``rules`` is one).
        Each rule is restricted by the constraints once; a trial is then a conjunction of the
        small restricted diagrams, stopping at the first false."""
        false, true = self.bdd.false, self.bdd.true
        part = {r: self.restrict(self.rules[r], constraints) for r in rules}
        dom = self.restrict(self.domain, constraints)
        keep = list(rules)
        u = dom
        for x in keep:
            u = u & part[x]
        if u != false:  # satisfiable: nothing can be dropped
            return keep
        for r in list(keep):
            trial = [x for x in keep if x != r]
            if part[r] != true:  # a rule true under the constraints never matters
                u = dom
                for x in trial:
                    u = u & part[x]
                    if u == false:
                        break
                if u != false:
                    continue
            keep = trial
        return keep

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

    def valid_masks(
        self, constraints: Constraints, attrs: Iterable[int] | None = None
    ) -> dict[int, np.ndarray]:
        """For each attribute, the options that extend the constraints on the *other*
        attributes to a valid variant (complete and sound by construction); every attribute in
        one pass over the block graph when there is one."""
        if attrs is None:
            out = self.graph_valid_masks(constraints)
            if out is not None:
                return out
            attrs = range(len(self.bits))
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

    def _bitsets(self, constraints: Constraints) -> list[int] | None:
        """Allowed options per attribute as Python int bit sets (None if one is empty)."""
        cb = list(self.full_bits)
        for a, m in constraints.items():
            bits = int.from_bytes(np.packbits(m, bitorder="little").tobytes(), "little")
            if not bits:
                return None
            cb[a] = bits
        return cb

    def count(self, constraints: Constraints) -> int:
        """Exact number of valid complete variants meeting ``constraints``."""
        if self.graph:  # paths of the block graph, each weighted by its allowed choices
            cb = self._bitsets(constraints)
            if cb is None:
                return 0
            pc = [c.bit_count() for c in cb]
            n = len(self.g_attr)
            nxt, exb, skip = self.ex_next, self.ex_bits, self.ex_skip
            cnt = [0] * (n + 1)
            cnt[n] = 1
            for i in range(n - 1, -1, -1):
                c = cb[self.g_attr[i]]
                tot = 0
                for e in self.g_exits[i]:
                    k = (exb[e] & c).bit_count()
                    if k and cnt[nxt[e]]:
                        for sk in skip[e]:
                            k *= pc[sk]
                        tot += k * cnt[nxt[e]]
                cnt[i] = tot
            tot = cnt[self.g_root]
            for sk in self.root_skip:
                tot *= pc[sk]
            return tot
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
        return c * 2**r * 2 ** (nvars - top)

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

    # -- the block graph (built once; answers without building diagrams per request) -------
    def _build_graph(self) -> None:
        """The diagram as a graph of attribute blocks.

        Each *entry node* (the root, and every node a path enters a block through) has *exits*:
        ``(option values of the block's attribute, next entry node)``. A path of ``f`` is a chain
        of exits, so restricting ``f`` by a request becomes masking the exits' values, and the
        cost minimisation and the valid-option pass run on integers with no diagram built per
        request. Needs contiguous attribute blocks (``self.graph`` is False otherwise).
        """
        nb = len(self.block_order)
        true, false = self.bdd.true, self.bdd.false
        self.graph = self.contiguous and self.f != false
        if not self.graph:
            return
        found: dict[Any, int] = {}
        nodes: list[Any] = []
        stack = [self.f]
        while stack:
            u = stack.pop()
            if u == true or u in found:
                continue
            found[u] = len(nodes)
            nodes.append(u)
            stack.extend(nxt for _, nxt in self._exits(u, self.weight[u.var][0]))

        def block(u: Any) -> int:
            return nb if u == true else self.block_of[self.weight[u.var][0]]

        nodes.sort(key=block)  # exits lead to later blocks: block order is topological
        ids = {u: i for i, u in enumerate(nodes)}
        n = len(nodes)
        self.g_root = n if self.f == true else ids[self.f]
        self.g_block = [block(u) for u in nodes] + [nb]
        self.g_attr = [self.block_order[b] for b in self.g_block[:-1]]
        self.g_exits: list[list[int]] = [[] for _ in range(n)]
        self.ex_next: list[int] = []
        self.ex_bits: list[int] = []  # option values as a Python int bit set
        self.ex_skip: list[tuple[int, ...]] = []  # attributes a path along the exit skips
        self.ex_row: list[int] = []  # row of the exit in its attribute's value matrix
        vals_of: list[list[np.ndarray]] = [[] for _ in self.bits]
        for i, u in enumerate(nodes):
            a = self.g_attr[i]
            for vals, nxt in self._exits(u, a):
                e = len(self.ex_next)
                j = n if nxt == true else ids[nxt]
                self.g_exits[i].append(e)
                self.ex_next.append(j)
                self.ex_bits.append(sum(1 << int(v) for v in vals))
                self.ex_skip.append(
                    tuple(self.block_order[b] for b in range(self.g_block[i] + 1, self.g_block[j]))
                )
                self.ex_row.append(len(vals_of[a]))
                vals_of[a].append(vals)
        self.root_skip = tuple(self.block_order[b] for b in range(self.g_block[self.g_root]))
        self.ex_vals = []  # per attribute: bool matrix (its exits x its options)
        for a, size in enumerate(self.problem.sizes):
            m = np.zeros((len(vals_of[a]), size), bool)
            for r, vals in enumerate(vals_of[a]):
                m[r, vals] = True
            self.ex_vals.append(m)
        self.full_bits = [(1 << size) - 1 for size in self.problem.sizes]
        self._best_memo: list[tuple[Any, list[int], int] | None] = [None] * len(self.bits)

    def _pair_tables(self) -> dict[tuple[int, int], np.ndarray]:
        """For every pair of attributes a < b, which option pairs some valid variant contains
        (``pairs[a, b][i, k]``): the options a single selection or a one-attribute pick leaves
        valid on every other attribute, read off with numpy instead of a diagram per pick."""
        out = {}
        sizes = self.problem.sizes
        for a in range(len(sizes)):
            for b in range(a + 1, len(sizes)):
                proj = self.bdd.exist(self.others[a] & self.others[b], self.f)
                # walk the smaller attribute's options, read the larger one's off the diagram
                small, big = (a, b) if sizes[a] <= sizes[b] else (b, a)
                cols = np.zeros((sizes[small], sizes[big]), bool)
                for k in range(sizes[small]):
                    cols[k] = self._mask(self.bdd.let(self._lits[small][k], proj), big)
                out[a, b] = cols if small == a else cols.T
        return out

    def compatible(self, a: int, b: int) -> np.ndarray:
        """``[i, k]``: some valid variant has option i of ``a`` and option k of ``b`` (a != b)."""
        return self.pairs[a, b] if a < b else self.pairs[b, a].T

    def _pick_rows(self) -> list[np.ndarray]:
        """Per attribute, per option: the compatible options of every attribute, concatenated
        (the pair tables side by side), so a one-attribute pick's row is one numpy lookup."""
        sizes = self.problem.sizes
        rows = []
        for b, nb in enumerate(sizes):
            rows.append(
                np.concatenate(
                    [
                        np.ones((nb, k), bool) if a == b else self.compatible(a, b).T
                        for a, k in enumerate(sizes)
                    ],
                    axis=1,
                )
            )
        return rows

    def compatible_options(self, attr: int, mask: np.ndarray) -> np.ndarray:
        """See :meth:`configurator.backend.Backend.compatible_options` (read off the pair
        tables)."""
        rows = self._rowmat[attr]
        hits = np.flatnonzero(mask)
        return rows[int(hits[0])] if len(hits) == 1 else rows[mask].any(axis=0)

    def graph_valid_masks(self, constraints: Constraints) -> dict[int, np.ndarray] | None:
        """:meth:`valid_masks` of every attribute in one pass over the block graph: reachable
        from the root and reaching true under the constraints, where an attribute's own
        constraint is ignored for its own options (a path crosses its block once). None when
        the graph is unavailable or a constraint is empty (then use :meth:`valid_masks`)."""
        cb = self._bitsets(constraints) if self.graph else None
        if cb is None:
            return None
        n = len(self.g_attr)
        nxt, exb, exits, attr = self.ex_next, self.ex_bits, self.g_exits, self.g_attr
        alive = [False] * (n + 1)
        alive[n] = True
        for i in range(n - 1, -1, -1):
            c = cb[attr[i]]
            for e in exits[i]:
                if exb[e] & c and alive[nxt[e]]:
                    alive[i] = True
                    break
        reach = [False] * (n + 1)
        root = self.g_root
        reach[root] = True
        out = [0] * len(cb)
        full = self.full_bits
        if alive[root]:
            for a in self.root_skip:
                out[a] = full[a]
        for i in range(n):
            if not reach[i]:
                continue
            a = attr[i]
            c = cb[a]
            for e in exits[i]:
                j = nxt[e]
                bits = exb[e]
                if bits & c:
                    reach[j] = True
                    if alive[j]:
                        for s in self.ex_skip[e]:
                            out[s] = full[s]
                if alive[j]:
                    out[a] |= bits  # a's own constraint does not limit a's options
        sizes = self.problem.sizes
        res = {}
        for a, bits in enumerate(out):
            raw = np.frombuffer(bits.to_bytes((sizes[a] + 7) // 8, "little"), np.uint8)
            res[a] = np.unpackbits(raw, count=sizes[a], bitorder="little").astype(bool)
        return res

    def minimize(self, constraints: Constraints, costs: Costs) -> list[int] | None:
        """The valid completion of ``constraints`` with the smallest summed cost, one option
        index per attribute, or None when no variant meets them.

        A dynamic programme over the block graph: an exit pays the best of its still-allowed
        values, a skipped attribute its best allowed option. Pass the same ``costs.ranks[a]``
        object again to reuse the best values of the unconstrained exits. Without a block graph
        (attribute bits interleaved by reordering) the completion is greedy in ``costs.order``.
        """
        if not self.graph:
            return greedy_minimize(self, constraints, costs)
        scalars = costs.scalars
        found = self._best_values(constraints, costs.ranks)
        if found is None:
            return None
        best_v, skip_best = found
        nb = len(self.block_order)
        prefix = [0]
        for b in range(nb):
            a = self.block_order[b]
            prefix.append(prefix[-1] + scalars[a][skip_best[a]])
        n = len(self.g_attr)
        cost: list[int | None] = [None] * (n + 1)
        cost[n] = 0
        choice = [-1] * n
        blk, nxt, rows = self.g_block, self.ex_next, self.ex_row
        for i in range(n - 1, -1, -1):
            a = self.g_attr[i]
            sw, bv = scalars[a], best_v[a]
            after = prefix[blk[i] + 1]
            best = None
            for e in self.g_exits[i]:
                v = bv[rows[e]]
                if v < 0:
                    continue
                j = nxt[e]
                cj = cost[j]
                if cj is None:
                    continue
                t = sw[v] + prefix[blk[j]] - after + cj
                if best is None or t < best:
                    best = t
                    choice[i] = e
            cost[i] = best
        root = self.g_root
        if cost[root] is None:
            return None
        out = list(skip_best)
        i = root
        while i != n:
            e = choice[i]
            a = self.g_attr[i]
            out[a] = best_v[a][rows[e]]
            i = nxt[e]
        return out

    def _best_values(
        self, constraints: Constraints, ranks: Sequence[np.ndarray]
    ) -> tuple[list[list[int]], list[int]] | None:
        """Per attribute: the best allowed option of each of its exits (-1: none) and its best
        allowed option overall (what a path skipping it pays); None if one allows nothing."""
        big = np.iinfo(np.int64).max
        best_v: list[list[int]] = []
        skip_best: list[int] = []
        for a, rk in enumerate(ranks):
            m = constraints.get(a)
            memo = self._best_memo[a]
            if m is None and memo is not None and memo[0] is rk:
                best_v.append(memo[1])
                skip_best.append(memo[2])
                continue
            vals = self.ex_vals[a]
            if m is not None and m.sum() == 1:  # a selection: exits either allow it or not
                j = int(m.argmax())
                best_v.append(np.where(vals[:, j], j, -1).tolist())
                skip_best.append(j)
                continue
            r = rk if m is None else np.where(m, rk, big)
            if r.size == 0 or r.min() == big:
                return None
            if len(vals):
                masked = np.where(vals, r, big)
                arg = masked.argmin(axis=1)
                bv = np.where(masked[np.arange(len(vals)), arg] == big, -1, arg).tolist()
            else:
                bv = []
            sb = int(r.argmin())
            if m is None:
                self._best_memo[a] = (rk, bv, sb)
            best_v.append(bv)
            skip_best.append(sb)
        return best_v, skip_best

    def clear_caches(self) -> None:
        """Forget diagrams built for earlier requests (the compiled tables stay)."""
        self._exit_cache.clear()
        self._set_cache.clear()

    def __del__(self) -> None:
        # release diagrams before the manager: CUDD asserts when nodes outlive it
        self.close()

    def close(self) -> None:
        """Drop every diagram this backend holds (the manager can then be freed cleanly)."""
        for name in ("_set_cache", "_exit_cache"):
            getattr(self, name, {}).clear()
        self.rules = []
        self._cubes = []
        self._dom = []
        self.f = self.domain = None

    @property
    def node_count(self) -> int:
        return len(self.f)
