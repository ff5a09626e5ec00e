"""Why an option is invalid: the rules that exclude it and the customer's picks that make them.

Options of an attribute are judged against the picks on the *other* attributes (so a customer
can always see what switching to would allow), plus any measurement or text pick on the
attribute itself. Each invalid option gets a minimal set of rules and the picks that, with those
rules, admit no variant containing it.

Example
-------
>>> from configurator import reference_families
>>> from configurator.compiled import CompiledFamily
>>> from configurator.picks import make_picks, merge, parse_selections
>>> cf = CompiledFamily(reference_families()["original-spin"])
>>> why = Explainer(cf)
>>> chosen, texts = parse_selections(cf, {"leg_opening": "skinny"})
>>> picks = make_picks(cf, chosen, texts, {"leg_opening": "skinny"}, {})
>>> states = why.options(cf.backend.valid_masks(merge(picks)), picks)
>>> rigid = next(s for s in states["fabric"] if s.value == "rigid-14oz")
>>> rigid.valid, rigid.rules, rigid.excluded_by
(False, ['stretch-for-skinny'], {'leg_opening': 'skinny'})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from configurator.compiled import CompiledFamily
from configurator.picks import Pick, freeze, merge, text_pairs
from configurator.results import OptionState

Reasons = list[tuple[list[str], str, dict[str, Any], list[int]]]


class Explainer:
    """Explanations over one compiled family, with the caches that make them cheap.

    Each rule's table is projected on every attribute and every pair of its attributes, so
    "does this rule alone exclude these options under these picks" is one numpy lookup for the
    usual one- and two-attribute cases; why a globally invalid option is invalid is found once.
    Call under ``cf.lock``.
    """

    def __init__(self, cf: CompiledFamily) -> None:
        self.cf = cf
        self._rows: dict[Any, dict[int, np.ndarray]] = {}
        self._reasons: dict[Any, list[int]] = {}
        self._groups: dict[Any, Reasons] = {}
        self._proj1: list[dict[int, np.ndarray]] = []
        self._proj2: list[dict[tuple[int, int], np.ndarray]] = []
        for c in cf.problem.constraints:
            axes = range(len(c.scope))
            p1: dict[int, np.ndarray] = {
                x: np.asarray(c.allowed.any(axis=tuple(i for i in axes if i != ix)))
                for ix, x in enumerate(c.scope)
            }
            p2: dict[tuple[int, int], np.ndarray] = {}
            for ix, x in enumerate(c.scope):
                for iy, y in enumerate(c.scope):
                    if ix < iy:
                        t = np.asarray(
                            c.allowed.any(axis=tuple(i for i in axes if i not in (ix, iy)))
                        )
                        p2[x, y] = t
                        p2[y, x] = t.T
            self._proj1.append(p1)
            self._proj2.append(p2)
        with cf.lock:
            # why a globally invalid option is invalid does not depend on any request
            self._global_reason = {
                (a, int(j)): self.explain([], {a: cf.onehot(a, int(j))})
                for a, ok in cf.global_valid.items()
                for j in np.flatnonzero(~ok)
            }

    def clear(self) -> None:
        """Forget every explanation remembered from earlier requests."""
        for cache in (self._rows, self._reasons, self._groups):
            cache.clear()

    # -- rules ---------------------------------------------------------------------------------
    def rule_allows(self, r: int, masks: Mapping[int, np.ndarray], keep: int | None = None) -> Any:
        """Whether rule ``r`` alone (with the domains) admits some variant meeting ``masks``;
        with ``keep``, per option of that attribute instead (its mask in ``masks`` is then
        ignored). Read off the rule's table, its projections in the usual cases."""
        cf = self.cf
        c = cf.problem.constraints[r]
        on: list[int] = []
        for b, m in masks.items():
            if b == keep:
                continue
            if b in cf.rule_scope[r]:
                on.append(b)
            elif not m.any():
                return False if keep is None else np.zeros(cf.sizes[keep], bool)
        if keep is not None and keep in cf.rule_scope[r]:
            if not on:
                return self._proj1[r][keep]
            if len(on) == 1:
                return self._proj2[r][keep, on[0]][:, masks[on[0]]].any(axis=1)
        elif keep is not None:
            rest = {b: m for b, m in masks.items() if b != keep}
            return np.full(cf.sizes[keep], bool(self.rule_allows(r, rest)))
        elif not on:
            return bool(c.allowed.any())
        elif len(on) == 1:
            return bool(self._proj1[r][on[0]][masks[on[0]]].any())
        elif len(on) == 2:
            x, y = on
            return bool(self._proj2[r][x, y][masks[x]][:, masks[y]].any())
        t = c.allowed
        for ax, b in enumerate(c.scope):
            if b in on:
                t = t.compress(masks[b], axis=ax)
        if keep is None:
            return bool(t.any())
        ax = c.scope.index(keep)
        return t.any(axis=tuple(i for i in range(t.ndim) if i != ax))

    def min_rules(self, masks: Mapping[int, np.ndarray]) -> list[int]:
        """A minimal set of rules that, with ``masks``, admits no variant (cached): a single
        rule read off its table when one suffices, else the backend's minimal set."""
        key = freeze(masks)
        hit = self._reasons.get(key)
        if hit is not None:
            return hit
        touched = set(masks)
        cands = [r for r, s in enumerate(self.cf.rule_scope) if s & touched]
        found = next((r for r in cands if not self.rule_allows(r, masks)), None)
        rules = [found] if found is not None else self.cf.backend.minimal_rules(masks)
        if len(self._reasons) > 50_000:
            self._reasons.clear()
        self._reasons[key] = rules
        return rules

    def explain(
        self, picks: Sequence[Pick], masks: Mapping[int, np.ndarray]
    ) -> tuple[list[str], str]:
        """Rule ids and a sentence saying why ``masks`` cannot hold together with ``picks``."""
        cf = self.cf
        merged = merge(picks)
        for a, m in masks.items():
            merged[a] = merged[a] & m if a in merged else m
        rules = self.min_rules(merged)
        why = "; ".join(cf.rule_msgs[r] for r in rules) or "no variant allows it"
        if picks:
            why = f"{why} (because {', '.join(f'{p.key}={p.value}' for p in picks)})"
        return [cf.rule_ids[r] for r in rules], why

    # -- options -------------------------------------------------------------------------------
    def options(
        self, valid: Mapping[int, np.ndarray], picks: list[Pick]
    ) -> dict[str, list[OptionState]]:
        """Every option of every attribute: valid, or why not. Invalid options are explained
        in groups (those excluded by the same picks share one search for rules and one
        sentence); the first single pick that excludes an option is found for all attributes
        at once on the picks' compatible rows."""
        cf = self.cf
        n = len(cf.attrs)
        states: list[list[OptionState]] = []
        lefts: list[np.ndarray | None] = []
        for a in range(n):
            st, left = self._direct_states(a, valid[a], picks)
            states.append(st)
            lefts.append(left)
        groups: list[list[tuple[list[Pick], np.ndarray]]] = [[] for _ in range(n)]
        todo = [a for a in range(n) if lefts[a] is not None]
        if todo:
            off = cf.offsets
            big = np.concatenate([x if x is not None else cf.none[a] for a, x in enumerate(lefts)])
            for p in picks:
                hit = big & ~self._row_all(p)
                if not hit.any():
                    continue
                big &= ~hit
                at = np.unique(np.searchsorted(off, np.flatnonzero(hit), side="right") - 1)
                for a in at.tolist():
                    groups[a].append(([p], hit[off[a] : off[a + 1]]))
                if not big.any():
                    break
            for a in todo:
                rest = big[off[a] : off[a + 1]]
                lefts[a] = rest if rest.any() else None
        for a in todo:
            left = lefts[a]
            if left is not None:
                others = [p for p in picks if not (p.is_selection and a in p.masks)]
                groups[a] += self._min_culprits(a, left, others)
            values = cf.values[a]
            for culprits, sub in groups[a]:
                for rules, why, by, idx in self._group_reasons(a, sub, culprits):
                    for j in idx:
                        states[a][j] = OptionState(values[j], False, why, list(rules), dict(by))
        return {cf.names[a]: states[a] for a in range(n)}

    def _direct_states(
        self, a: int, valid: np.ndarray, picks: list[Pick]
    ) -> tuple[list[OptionState], np.ndarray | None]:
        """States of ``a`` with the options excluded by its own picks (a measurement range, a
        text) or by no variant at all explained; and the invalid options still unexplained."""
        cf = self.cf
        values = cf.values[a]
        states = [OptionState(v, True) for v in values]
        own = [p for p in picks if not p.is_selection and a in p.masks]
        if not own and valid.all():
            return states, None
        left = ~valid
        done = np.zeros(len(values), bool)
        for p in own:
            out = ~p.masks[a] & ~done
            if out.any():
                why = (
                    f"outside the tolerance of the measurements given for {cf.names[a]}"
                    if p.source == "measurements"
                    else f"{p.key} needs {cf.names[a]} in the options that allow it"
                )
                for j in np.flatnonzero(out).tolist():
                    states[j] = OptionState(values[j], False, why, [], {p.key: p.value})
                done |= out
                left &= ~out
        if not left.any():
            return states, None
        gv = cf.global_valid[a]
        for j in np.flatnonzero(left & ~gv).tolist():
            rules, why = self._global_reason[a, j]
            states[j] = OptionState(values[j], False, why, list(rules), {})
        left &= gv
        return states, (left if left.any() else None)

    def _row_all(self, p: Pick) -> np.ndarray:
        """Options of every attribute compatible with pick ``p`` alone, concatenated (all True
        on the attributes ``p`` constrains itself). Shared: never modify it."""
        cf = self.cf
        if len(p.masks) == 1:
            ((b, m),) = p.masks.items()
            return cf.backend.compatible_options(b, m)
        row = self._rows.get(p.frozen)
        if row is None:
            if len(self._rows) > 20_000:
                self._rows.clear()
            row = cf.backend.valid_masks(p.masks)
            self._rows[p.frozen] = row
        return np.concatenate(
            [~cf.none[a] if a in p.masks else row[a] for a in range(len(cf.attrs))]
        )

    def _min_culprits(
        self, a: int, left: np.ndarray, others: list[Pick]
    ) -> list[tuple[list[Pick], np.ndarray]]:
        """Options of ``a`` that no single pick excludes, split by a minimal set of picks
        that does, found by deletion in pick order. The deletion runs once per group of
        options that behave alike, one backend query per step, instead of once per option."""
        cf = self.cf
        multi = [p for p in others if p.masks.keys() - {a}]
        groups = [(multi, left)]
        for p in multi:
            nxt = []
            for keep, m in groups:
                trial = [q for q in keep if q is not p]
                if trial:
                    merged = merge(trial)
                    ok = cf.backend.valid_masks(merged, [a])[a]
                    if a in merged:
                        ok = ok & merged[a]
                else:
                    ok = cf.global_valid[a]
                drop, stay = m & ~ok, m & ok
                if drop.any():
                    nxt.append((trial, drop))
                if stay.any():
                    nxt.append((keep, stay))
            groups = nxt
        return groups

    def _group_reasons(self, a: int, sub: np.ndarray, culprits: list[Pick]) -> Reasons:
        """Rules and sentence for options of ``a`` excluded by ``culprits``: per option the
        first rule (in family order, among those touching the picks or ``a``) that alone
        excludes it, tested for the whole group at once; a minimal rule set for the rest.
        Same answer as :meth:`min_rules` option by option."""
        key = (a, tuple(p.frozen for p in culprits), sub.tobytes())
        hit = self._groups.get(key)
        if hit is not None:
            return hit
        cf = self.cf
        merged = merge(culprits)
        touched = set(merged) | {a}
        by = text_pairs(culprits)
        because = (
            f" (because {', '.join(f'{p.key}={p.value}' for p in culprits)})" if culprits else ""
        )
        out = []
        left = sub.copy()
        for r, scope in enumerate(cf.rule_scope):
            if not scope & touched:
                continue
            allows = self.rule_allows(r, merged, keep=a)
            ex = left & ~(allows & merged[a] if a in merged else allows)
            if ex.any():
                out.append(
                    (
                        [cf.rule_ids[r]],
                        f"{cf.rule_msgs[r]}{because}",
                        by,
                        np.flatnonzero(ex).tolist(),
                    )
                )
                left &= ~ex
                if not left.any():
                    break
        for j in np.flatnonzero(left).tolist():
            rules, why = self.explain(culprits, {a: cf.onehot(a, j)})
            out.append((rules, why, by, [j]))
        if len(self._groups) > 20_000:
            self._groups.clear()
        self._groups[key] = out
        return out
