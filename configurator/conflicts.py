"""Contradictory picks: the smallest set of picks to drop so that the rest admit a variant
(ties: the earliest, so the latest choice wins), each with the picks and rules it clashes with.

Example
-------
>>> from configurator import reference_families
>>> from configurator.compiled import CompiledFamily
>>> from configurator.explain import Explainer
>>> from configurator.picks import make_picks, parse_selections
>>> cf = CompiledFamily(reference_families()["original-spin"])
>>> sel = {"embroidery": "cuff", "delivery": "rush"}
>>> chosen, texts = parse_selections(cf, sel)
>>> kept, conflicts = resolve(cf, Explainer(cf), make_picks(cf, chosen, texts, sel, {}))
>>> [(c.attribute, c.rules, c.conflicts_with) for c in conflicts]
[('embroidery', ['no-rush-embroidery'], {'delivery': 'rush'})]
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from configurator.compiled import CompiledFamily
from configurator.explain import Explainer
from configurator.picks import Pick, satisfiable, text_pairs
from configurator.results import Conflict


def clashes(cf: CompiledFamily, picks: list[Pick]) -> list[frozenset[int]]:
    """Picks (by index) that admit no variant alone or in pairs, read off the picks'
    compatible rows: any set containing one is unsatisfiable, which lets the conflict search
    skip most of its satisfiability checks."""
    # per single-attribute pick: (attribute, mask, its option if a selection, compatible row)
    single: list[tuple[int, np.ndarray, int | None, np.ndarray] | None] = []
    for p in picks:
        if len(p.masks) == 1:
            ((a, m),) = p.masks.items()
            j = int(m.argmax()) if p.is_selection else None
            single.append((a, m, j, cf.backend.compatible_options(a, m)))
        else:
            single.append(None)
    out = []
    for i, si in enumerate(single):
        if si is not None and not (si[1] & cf.global_valid[si[0]]).any():
            out.append(frozenset((i,)))
    off = cf.offsets
    for i, j in combinations(range(len(picks)), 2):
        si, sj = single[i], single[j]
        if si is None or sj is None:
            continue
        (a, ma, _, row), (b, mb, jb, _) = si, sj
        if a == b:
            ok = bool((ma & mb & cf.global_valid[a]).any())
        elif jb is not None:
            ok = bool(row[off[b] + jb])
        else:
            ok = bool((row[off[b] : off[b + 1]] & mb).any())
        if not ok:
            out.append(frozenset((i, j)))
    return out


def resolve(
    cf: CompiledFamily, explainer: Explainer, picks: list[Pick]
) -> tuple[list[Pick], list[Conflict]]:
    """The picks kept and the conflicts of those dropped (a smallest drop set, by size up to
    three, then greedily keeping from the latest pick backwards). Call under ``cf.lock``."""
    if satisfiable(cf, picks):
        return picks, []
    n = len(picks)
    known = clashes(cf, picks)

    def sat(idx: set[int]) -> bool:  # a known clash inside answers without the backend
        return not any(c <= idx for c in known) and satisfiable(cf, [picks[i] for i in sorted(idx)])

    drop: tuple[int, ...] | None = None
    for k in range(1, min(n, 3) + 1):
        drop = next(
            (c for c in combinations(range(n), k) if sat(set(range(n)).difference(c))), None
        )
        if drop is not None:
            break
    if drop is None:  # many clashes: keep greedily from the latest pick backwards
        kept_idx: list[int] = []
        for i in reversed(range(n)):
            if sat({*kept_idx, i}):
                kept_idx.append(i)
        drop = tuple(i for i in range(n) if i not in kept_idx)
    kept = [i for i in range(n) if i not in drop]
    out = []
    for i in drop:
        p = picks[i]
        # a minimal subset of the kept picks that excludes p (deletion, in pick order)
        keep = list(kept)
        for q in kept:
            trial = [x for x in keep if x != q]
            if not sat({*trial, i}):
                keep = trial
        others = [picks[x] for x in keep]
        rules, why = explainer.explain(others, p.masks)
        out.append(
            Conflict(
                p.source,
                p.key,
                p.value,
                text_pairs(others),
                rules,
                f"{p.key}={p.value} cannot be combined: {why}",
            )
        )
    return [picks[i] for i in kept], out
