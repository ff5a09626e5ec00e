"""Property tests: random small families against brute-force enumeration.

Each generated family has 2-4 attributes of 2-4 options, random rules of every kind and
sometimes an out-of-stock option; the oracle enumerates every complete assignment. Both backends
(decision diagram and SAT) must agree with it on counts, validity (sound and complete),
explanations, conflicts, suggestions and codes.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configurator import BDDBackend, Configurator, Costs, load_family
from configurator.constraints import ConstraintProblem, brute_force, lower


@st.composite
def families(draw: st.DrawFn) -> dict[str, Any]:
    n_attr = draw(st.integers(2, 4))
    attrs = []
    for a in range(n_attr):
        n_opt = draw(st.integers(2, 4))
        opts = []
        for j in range(n_opt):
            o: dict[str, Any] = {
                "value": f"o{j}",
                "price_delta": draw(st.integers(0, 9)),
                "lead_time_days": draw(st.integers(0, 3)),
                "properties": {"p": draw(st.integers(0, 4))},
            }
            if draw(st.integers(0, 12)) == 0:
                o["inventory"] = 0
            opts.append(o)
        attrs.append({"name": f"a{a}", "options": opts})

    def cond(k: int) -> dict[str, Any]:
        names = draw(st.lists(st.integers(0, n_attr - 1), min_size=1, max_size=k, unique=True))
        out: dict[str, Any] = {}
        for i in names:
            n = len(attrs[i]["options"])
            vals = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n - 1, unique=True))
            out[f"a{i}"] = [f"o{v}" for v in vals]
        return out

    rules: list[dict[str, Any]] = []
    for r in range(draw(st.integers(0, 4))):
        kind = draw(
            st.sampled_from(["requires", "excludes", "combinations", "bounds", "conditional"])
        )
        rid = f"r{r}"
        if kind in ("requires", "excludes"):
            rules.append({"id": rid, "type": kind, "if": cond(1), "then": cond(2)})
        elif kind == "combinations":
            scope = draw(st.lists(st.integers(0, n_attr - 1), min_size=2, max_size=2, unique=True))
            rows = draw(
                st.lists(
                    st.tuples(*(st.integers(0, len(attrs[i]["options"]) - 1) for i in scope)),
                    min_size=1,
                    max_size=4,
                )
            )
            key = draw(st.sampled_from(["allowed", "forbidden"]))
            rules.append(
                {
                    "id": rid,
                    "type": "combinations",
                    "attributes": [f"a{i}" for i in scope],
                    key: [[f"o{v}" for v in row] for row in rows],
                }
            )
        elif kind == "bounds":
            scope = draw(st.lists(st.integers(0, n_attr - 1), min_size=1, max_size=2, unique=True))
            rules.append(
                {
                    "id": rid,
                    "type": "bounds",
                    "terms": [{"attribute": f"a{i}", "property": "p"} for i in scope],
                    "max": draw(st.integers(2, 7)),
                }
            )
        else:
            rules.append(
                {
                    "id": rid,
                    "type": "conditional",
                    "when": cond(1),
                    "then": [{"type": "requires", "if": cond(1), "then": cond(1)}],
                }
            )
    return {
        "id": "rand",
        "name": "random",
        "base_price": 10,
        "assembly_days": 1,
        "attributes": attrs,
        "rules": rules,
    }


def _matching(
    problem: ConstraintProblem, variants: list[tuple[int, ...]], masks: dict[int, np.ndarray]
) -> list[tuple[int, ...]]:
    return [v for v in variants if all(m[v[a]] for a, m in masks.items())]


def _sel_masks(cfg: Configurator, sel: dict[str, str]) -> dict[int, np.ndarray]:
    cf = cfg.compiled
    out = {}
    for k, v in sel.items():
        a = cf.index[k]
        out[a] = cf.onehot(a, cf.opt_index[a][v])
    return out


def _rules_only(problem: ConstraintProblem, rule_ids: list[str]) -> ConstraintProblem:
    keep = [c for c in problem.constraints if c.id in rule_ids]
    return ConstraintProblem(problem.attrs, problem.values, keep)


SETTINGS = settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


@SETTINGS
@given(families(), st.data())
def test_engine_matches_brute_force(spec: dict[str, Any], data: st.DataObject) -> None:
    fam = load_family(spec)
    problem = lower(fam)
    variants = brute_force(problem)
    bdd = Configurator(fam, backend="bdd")
    sat = Configurator(fam, backend="sat")
    assert bdd.variant_count == sat.variant_count == len(variants)

    n_sel = data.draw(st.integers(0, len(fam.attributes)))
    chosen = data.draw(
        st.lists(
            st.integers(0, len(fam.attributes) - 1), min_size=n_sel, max_size=n_sel, unique=True
        )
    )
    sel = {f"a{i}": f"o{data.draw(st.integers(0, len(problem.values[i]) - 1))}" for i in chosen}
    res = bdd.configure(sel)
    res_sat = sat.configure(sel)
    masks = _sel_masks(bdd, sel)

    # conflicts: dropping them leaves a consistent set, and no smaller drop set exists
    dropped = {c.attribute for c in res.conflicts}
    kept = {k: v for k, v in sel.items() if k not in dropped}
    kept_masks = _sel_masks(bdd, kept)
    assert _matching(problem, variants, kept_masks) or not variants
    if variants:
        for k in range(len(dropped)):
            for combo in combinations(sel, k):
                rest = _sel_masks(bdd, {x: y for x, y in sel.items() if x not in combo})
                assert not _matching(problem, variants, rest)
    if variants:
        assert bool(res.conflicts) == (not _matching(problem, variants, masks))
    assert {c.attribute for c in res_sat.conflicts} == dropped
    for c in res.conflicts:
        # the named rules and selections really clash with the dropped one
        sub = _rules_only(problem, c.rules)
        clash = {
            **_sel_masks(bdd, {k: str(v) for k, v in c.conflicts_with.items()}),
            **_sel_masks(bdd, {c.attribute: str(c.value)}),
        }
        assert not _matching(sub, brute_force(sub), clash)

    assert res.remaining_variants == len(_matching(problem, variants, kept_masks))
    assert res_sat.remaining_variants == res.remaining_variants

    for a, states in res.options.items():
        ai = bdd.compiled.index[a]
        others = {b: m for b, m in kept_masks.items() if b != ai}
        possible = {v[ai] for v in _matching(problem, variants, others)}
        for j, s in enumerate(states):
            assert s.valid == (j in possible), (a, s)  # sound and complete
            assert res_sat.options[a][j].valid == s.valid
            if not s.valid:
                assert s.reason and s.rules
                # sufficient: the named rules and picks alone exclude the option
                sub = _rules_only(problem, s.rules)
                why = {
                    **_sel_masks(bdd, {k: str(v) for k, v in s.excluded_by.items()}),
                    ai: bdd.compiled.onehot(ai, j),
                }
                assert not _matching(sub, brute_force(sub), why)

    if variants:
        assert res.suggested is not None
        sug = tuple(
            bdd.compiled.opt_index[i][res.suggested.selections[f"a{i}"]]
            for i in range(len(fam.attributes))
        )
        assert sug in _matching(problem, variants, kept_masks)
        best = min(
            sum(int(fam.attributes[i].values[v[i]].price_delta) for i in range(len(v)))
            for v in _matching(problem, variants, kept_masks)
        )
        assert res.suggested.price == 10 + best  # cheapest completion (no preferences given)
        assert bdd.decode(res.suggested.code).selections == res.suggested.selections
        assert res_sat.suggested is not None
        sat_sug = tuple(
            sat.compiled.opt_index[i][res_sat.suggested.selections[f"a{i}"]]
            for i in range(len(fam.attributes))
        )
        assert sat_sug in _matching(problem, variants, kept_masks)
    else:
        assert res.suggested is None
    # caches never leak one query's answer into another, and a cold engine answers the same
    bdd.configure({})
    assert bdd.configure(sel).to_dict() == res.to_dict()
    bdd.clear_caches()
    assert bdd.configure(sel).to_dict() == res.to_dict()


@SETTINGS
@given(families())
def test_codes_round_trip_every_variant(spec: dict[str, Any]) -> None:
    fam = load_family(spec)
    cfg = Configurator(fam)
    problem = lower(fam)
    seen = set()
    for v in brute_force(problem)[:50]:
        sel = {f"a{i}": problem.values[i][j] for i, j in enumerate(v)}
        code = cfg.encode(sel)
        assert cfg.encode(dict(reversed(sel.items()))) == code  # order does not matter
        assert cfg.decode(code).selections == sel
        seen.add(code)
    assert len(seen) == min(50, len(brute_force(problem)))


def test_brute_force_oracle_on_an_obvious_family() -> None:
    fam = load_family(
        {
            "id": "t",
            "name": "t",
            "attributes": [
                {"name": "x", "options": [{"value": "a"}, {"value": "b"}]},
                {"name": "y", "options": [{"value": "a"}, {"value": "b"}, {"value": "c"}]},
            ],
            "rules": [{"type": "excludes", "if": {"x": "a"}, "then": {"y": ["a", "b"]}}],
        }
    )
    assert brute_force(lower(fam)) == [(0, 2), (1, 0), (1, 1), (1, 2)]


@SETTINGS
@given(families(), st.data())
def test_block_graph_and_pair_tables_match_brute_force(
    spec: dict[str, Any], data: st.DataObject
) -> None:
    """The request-free structures compiled with the diagram (block graph, pair tables) answer
    valid options and cheapest completions exactly like enumeration does."""
    fam = load_family(spec)
    problem = lower(fam)
    variants = brute_force(problem)
    cfg = Configurator(fam, backend="bdd")
    be = cfg.backend
    assert isinstance(be, BDDBackend)
    sizes = problem.sizes
    if not variants:
        assert not be.graph
        return
    assert be.graph
    for a in range(len(sizes)):
        for b in range(len(sizes)):
            if a != b:
                expect = np.zeros((sizes[a], sizes[b]), bool)
                for v in variants:
                    expect[v[a], v[b]] = True
                assert (be.compatible(a, b) == expect).all()
    masks: dict[int, np.ndarray] = {}
    for a, n in enumerate(sizes):
        if data.draw(st.booleans()):
            m = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool)
            if m.any():
                masks[a] = m
    got = be.graph_valid_masks(masks)
    assert got is not None
    for a in range(len(sizes)):
        others = {b: m for b, m in masks.items() if b != a}
        assert set(np.flatnonzero(got[a])) == {v[a] for v in _matching(problem, variants, others)}
    assert be.count(masks) == len(_matching(problem, variants, masks))
    # minimal rule sets: same deletion result as one satisfiability query per trial
    keep = list(range(len(problem.constraints)))
    if not be.satisfiable(masks):
        for r in list(keep):
            trial = [x for x in keep if x != r]
            if not be.satisfiable(masks, trial):
                keep = trial
    assert be.shrink_rules(masks, list(range(len(problem.constraints)))) == keep
    # distinct costs per attribute; the completion found must be a cheapest one
    costs = [[data.draw(st.integers(0, 5)) * 10 + j for j in range(n)] for n in sizes]
    ranks = [np.argsort(np.argsort(c)) for c in costs]
    best = be.minimize(masks, Costs(costs, ranks, list(range(len(sizes)))))
    matching = _matching(problem, variants, masks)
    if not matching:
        assert best is None
        return
    assert best is not None and tuple(best) in matching
    assert sum(costs[a][j] for a, j in enumerate(best)) == min(
        sum(costs[a][j] for a, j in enumerate(v)) for v in matching
    )
