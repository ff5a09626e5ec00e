"""The configurator engine: interactive valid-option queries, explanations, conflicts,
suggestions, fit, price, lead time and variant codes over one compiled family.

Example
-------
>>> from configurator import Configurator, reference_families
>>> cfg = Configurator(reference_families()["original-spin"])
>>> res = cfg.configure({"fit": "skinny"}, measurements={"waist": 32, "hip": 40, "inseam": 32})
>>> res.remaining_variants > 0 and res.suggested is not None
True

Terms used below: a *pick* is one constraint the customer imposed — a selection
(``fabric=selvedge``), a measurement-derived size range (waist/hip within tolerance) or a
free text (which implies its enabling condition). Options of an attribute are judged against the
picks on the *other* attributes (so a customer can always see what switching to would allow),
plus any measurement or text pick on the attribute itself.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from itertools import combinations
from typing import Any

import numpy as np

from configurator import codes
from configurator.compiler import BDDBackend, CompileBudgetExceeded
from configurator.errors import InputError, InvalidVariant, UnknownCode
from configurator.family import Negation, Option, ProductFamily
from configurator.problem import Problem, lower
from configurator.sat import SATBackend

Selections = Mapping[str, str]
Preferences = Mapping[str, "str | Sequence[str]"]
Learned = Mapping[str, Mapping[str, float]]


# ------------------------------------------------------------------------------------------
# result shapes (dataclasses mirroring the HTTP response; ``to_dict`` gives the JSON form)
@dataclass(slots=True)
class OptionState:
    """One option of an attribute in a configure answer. ``reason`` is a sentence; ``rules`` and
    ``excluded_by`` (the customer's picks that exclude it) are its machine-readable parts."""

    value: str
    valid: bool
    reason: str | None = None
    rules: list[str] = field(default_factory=list)
    excluded_by: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Variant:
    code: str
    selections: dict[str, str]
    price: float
    lead_time_days: int
    complete: bool = True
    missing: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Conflict:
    """A pick to drop so that the rest can be satisfied, and why it clashes."""

    source: str  # "selections" or "measurements"
    attribute: str
    value: Any
    conflicts_with: dict[str, Any]
    rules: list[str]
    reason: str


@dataclass(slots=True)
class FitMatch:
    value: str
    deltas: dict[str, float]  # measurement - module centre, per measurement
    distance: float  # sqrt(sum((delta / tolerance)^2)); <= 1 per axis means within tolerance
    within_tolerance: bool


@dataclass(slots=True)
class Fit:
    attribute: str
    matches: list[FitMatch]  # nearest valid modules within tolerance, nearest first
    nearest: list[FitMatch]  # nearest valid modules regardless of tolerance (when no match)
    message: str


@dataclass(slots=True)
class ConfigureResult:
    complete: bool
    variant: Variant | None
    options: dict[str, list[OptionState]]
    remaining_variants: int
    conflicts: list[Conflict]
    suggested: Variant | None
    fit: dict[str, Fit] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # required texts not yet given

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (the HTTP response body); hand-rolled because ``asdict`` deep-copies
        every option and costs more than the query."""

        def opt(s: OptionState) -> dict[str, Any]:
            if s.valid:
                return {"value": s.value, "valid": True}
            return {
                "value": s.value,
                "valid": False,
                "reason": s.reason,
                "rules": s.rules,
                "excluded_by": s.excluded_by,
            }

        return {
            "complete": self.complete,
            "variant": None if self.variant is None else asdict(self.variant),
            "options": {a: [opt(s) for s in sts] for a, sts in self.options.items()},
            "remaining_variants": self.remaining_variants,
            "conflicts": [asdict(c) for c in self.conflicts],
            "suggested": None if self.suggested is None else asdict(self.suggested),
            "fit": {k: asdict(f) for k, f in self.fit.items()},
            "missing": list(self.missing),
        }


@dataclass
class _Pick:
    source: str  # "selections" | "measurements"
    key: str  # attribute or text option name (measurement picks: the size attribute)
    value: Any
    masks: dict[int, np.ndarray]
    is_selection: bool  # a single option of one attribute
    frozen: tuple[Any, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.frozen = (self.key, str(self.value), _freeze(self.masks))


def _freeze(masks: Mapping[int, np.ndarray]) -> tuple[tuple[int, bytes], ...]:
    return tuple(sorted((a, m.tobytes()) for a, m in masks.items()))


def learn_preferences(
    history: Iterable[Mapping[str, str]], weights: Iterable[float] | None = None
) -> dict[str, dict[str, float]]:
    """Learned preferences from a customer's past configurations or purchases.

    Parameters
    ----------
    history : iterable of selections (``{attribute: value}``), e.g. decoded variant codes of the
        customer's ``configure``/purchase events, newest last.
    weights : one weight per entry (e.g. 2 for a purchase, 1 for a saved spec, decayed by age);
        default 1.

    Returns
    -------
    ``{attribute: {value: weight}}`` with weights summing to 1 per attribute — the ``learned``
    argument of :meth:`Configurator.configure`. Attributes of other families are harmless: the
    engine ignores names it does not know.
    """
    acc: dict[str, dict[str, float]] = {}
    ws = iter(weights) if weights is not None else None
    for sel in history:
        w = float(next(ws)) if ws is not None else 1.0
        for a, v in sel.items():
            if isinstance(v, str):
                acc.setdefault(a, {})
                acc[a][v] = acc[a].get(v, 0.0) + w
    return {
        a: {v: w / s for v, w in d.items()} for a, d in acc.items() if (s := sum(d.values())) > 0
    }


class Configurator:
    """A compiled product family answering configure/fit/price/code queries.

    Parameters
    ----------
    family : ProductFamily
    secret : bytes
        Key of the variant-code integrity tag (a deployment secret makes codes unforgeable).
    backend : "auto", "bdd" or "sat"
        "auto" compiles a decision diagram and falls back to SAT past ``budget_s``.
    budget_s : float
        Compile time budget of the diagram.

    Queries on one instance are serialised by a lock: CUDD managers are not thread-safe.
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
        self.problem: Problem = lower(family)
        self.fingerprint = hashlib.sha256(
            json.dumps(family.to_json(), sort_keys=True).encode()
        ).hexdigest()
        self._key = secret + bytes.fromhex(self.fingerprint)
        self._lock = threading.RLock()
        self.backend: BDDBackend | SATBackend
        if backend == "sat":
            self.backend = SATBackend(self.problem)
        else:
            try:
                self.backend = BDDBackend(
                    self.problem, budget_s=None if backend == "bdd" else budget_s
                )
            except CompileBudgetExceeded as exc:
                warnings.warn(
                    f"family {family.id!r}: {exc}; answering with the SAT backend",
                    RuntimeWarning,
                    stacklevel=2,
                )
                self.backend = SATBackend(self.problem)
        self.attrs = family.attributes
        # plain lists and arrays: pydantic private attributes are slow on hot paths
        self.opts: list[list[Option]] = [list(a.values) for a in self.attrs]
        self.names = [a.name for a in self.attrs]
        self.index = self.problem.index
        self.opt_index = [{o.value: j for j, o in enumerate(op)} for op in self.opts]
        # per option: [pref rank, fit distance, -learned, price, days, index] as non-negative
        # integers (per-attribute shifts do not change which completion is best)
        self._base_w = []
        for op in self.opts:
            w = np.zeros((len(op), 6), np.int64)
            cents = np.array([round(o.price_delta * 100) for o in op], np.int64)
            days = np.array([self._module_days(o) + o.extra_days for o in op], np.int64)
            w[:, 3] = cents - cents.min()
            w[:, 4] = days - days.min()
            w[:, 5] = np.arange(len(op))
            self._base_w.append(w)
        self.texts = {t.name: t for t in family.text_options}
        self.rule_ids = [c.id for c in self.problem.constraints]
        self.rule_msgs = [c.message for c in self.problem.constraints]
        self.rule_scope = [set(c.scope) for c in self.problem.constraints]
        self._rows: dict[Any, dict[int, np.ndarray]] = {}
        self._reasons: dict[Any, list[int]] = {}
        self._groups: dict[Any, list[tuple[list[str], str, dict[str, Any], list[int]]]] = {}
        self._graph = isinstance(self.backend, BDDBackend) and self.backend.graph
        self.values = [[o.value for o in op] for op in self.opts]
        self._eye = [np.eye(len(op), dtype=bool) for op in self.opts]  # one-hot rows
        for e in self._eye:
            e.flags.writeable = False  # shared by every pick: never modified in place
        self._text_cond = {t.name: self._cond_masks(t.enabled_by) for t in family.text_options}
        self._init_rule_tables()
        sizes = [len(op) for op in self.opts]
        self._offsets = np.concatenate([[0], np.cumsum(sizes)])
        self._no = [np.zeros(k, bool) for k in sizes]
        self._rowmat: list[np.ndarray] = []  # per option: compatible options of all attributes
        if self._graph:
            be = self.backend
            assert isinstance(be, BDDBackend)
            for b, nb in enumerate(sizes):
                self._rowmat.append(
                    np.concatenate(
                        [
                            np.ones((nb, k), bool) if a == b else be.compatible(a, b).T
                            for a, k in enumerate(sizes)
                        ],
                        axis=1,
                    )
                )
        self._init_costs()
        with self._lock:
            self.global_valid = self.backend.valid_masks({})
            self.variant_count = self.backend.count({})
            # why a globally invalid option is invalid does not depend on any request
            self._global_reason = {
                (a, int(j)): self._explain([], {a: self._onehot(a, int(j))})
                for a, ok in self.global_valid.items()
                for j in np.flatnonzero(~ok)
            }
            if self._graph:  # the best value of every exit under the request-free costs
                self.backend.minimize_scalar({}, self._low, self._low_rank)  # type: ignore[union-attr]
        self.measure_by_attr: dict[int, list[str]] = {}
        self._centre: dict[int, dict[str, np.ndarray]] = {}
        self._tol: dict[int, dict[str, np.ndarray]] = {}
        self._fit_tables: dict[tuple[int, tuple[str, ...]], tuple[np.ndarray, np.ndarray]] = {}
        for m in family.measurements:
            a = self.index[m.attribute]
            self.measure_by_attr.setdefault(a, []).append(m.name)
            opts = self.opts[a]
            self._centre.setdefault(a, {})[m.name] = np.array([o.measure[m.name] for o in opts])
            self._tol.setdefault(a, {})[m.name] = np.array([o.tolerance[m.name] for o in opts])

    def _init_rule_tables(self) -> None:
        """Each rule's table projected on every attribute and every pair of its attributes, so
        "does this rule alone exclude these options under these picks" is one numpy lookup
        for the usual one- and two-attribute cases."""
        self._proj1: list[dict[int, np.ndarray]] = []
        self._proj2: list[dict[tuple[int, int], np.ndarray]] = []
        for c in self.problem.constraints:
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

    def _init_costs(self) -> None:
        """Request-independent part of the suggestion cost: price, module days and index
        (criteria 3-5) folded into one integer per option, and their order."""
        self._radix_low = [
            int(sum(int(w[:, c].max()) for w in self._base_w)) + 1 for c in (3, 4, 5)
        ]
        _, r4, r5 = self._radix_low
        self._low_radix = self._radix_low[0] * r4 * r5
        self._low: list[list[int]] = []
        self._low_arr: list[np.ndarray] = []
        self._low_rank: list[np.ndarray] = []
        for w in self._base_w:
            low = [(int(x3) * r4 + int(x4)) * r5 + int(x5) for x3, x4, x5 in w[:, 3:].tolist()]
            self._low.append(low)
            if self._low_radix < 2**62:
                self._low_arr.append(np.array(low, np.int64))
            self._low_rank.append(
                np.argsort(np.argsort(np.array(low, dtype=object), kind="stable"), kind="stable")
            )
        self._delta = [[o.price_delta for o in op] for op in self.opts]
        self._mdays = [[self._module_days(o) for o in op] for op in self.opts]
        self._xdays = [[o.extra_days for o in op] for op in self.opts]

    def clear_caches(self) -> None:
        """Forget every answer remembered from earlier requests (the compiled diagram and the
        tables built with it stay): the next query costs what a never-seen one costs."""
        with self._lock:
            for cache in (self._rows, self._reasons, self._groups):
                cache.clear()
            clear = getattr(self.backend, "clear_caches", None)
            if clear is not None:
                clear()

    # -- parsing -------------------------------------------------------------------------------
    def _onehot(self, a: int, j: int) -> np.ndarray:
        return self._eye[a][j]

    def _cond_masks(self, cond: Mapping[str, Any]) -> dict[int, np.ndarray]:
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

    def _option(self, attr: str, value: Any, loc: str) -> tuple[int, int]:
        if attr not in self.index:
            raise InputError(f"unknown attribute {attr!r} of {self.family.id}", (loc, attr))
        a = self.index[attr]
        if not isinstance(value, str) or value not in self.opt_index[a]:
            raise InputError(f"unknown option {value!r} of attribute {attr!r}", (loc, attr))
        return a, self.opt_index[a][value]

    def _parse(self, selections: Selections | None) -> tuple[dict[int, int], dict[str, str]]:
        chosen: dict[int, int] = {}
        texts: dict[str, str] = {}
        for k, v in (selections or {}).items():
            if k in self.texts:
                if not isinstance(v, str):
                    raise InputError("text expected", ("selections", k))
                why = self.texts[k].check(v)
                if why:
                    raise InputError(why, ("selections", k))
                texts[k] = v
            else:
                a, j = self._option(k, v, "selections")
                chosen[a] = j
        return chosen, texts

    def _check_measurements(self, measurements: Mapping[str, float] | None) -> dict[str, float]:
        out = {}
        known = {m.name: m for m in self.family.measurements}
        for k, v in (measurements or {}).items():
            if k not in known:
                raise InputError(
                    f"unknown measurement {k!r} of {self.family.id}", ("measurements", k)
                )
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise InputError("a number is expected", ("measurements", k))
            m = known[k]
            if not m.min <= v <= m.max:
                raise InputError(
                    f"implausible {k}: {v:g} {m.unit} is outside [{m.min:g}, {m.max:g}]",
                    ("measurements", k),
                )
            out[k] = float(v)
        return out

    # -- backend helpers (called under the lock) ----------------------------------------------
    @staticmethod
    def _merge(picks: Iterable[_Pick]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for p in picks:
            for a, m in p.masks.items():
                out[a] = out[a] & m if a in out else m
        return out

    def _sat(self, picks: Iterable[_Pick], extra: Mapping[int, np.ndarray] | None = None) -> bool:
        merged = self._merge(picks)
        for a, m in (extra or {}).items():
            merged[a] = merged[a] & m if a in merged else m
        return self.backend.satisfiable(merged)

    def _valid_masks(self, merged: Mapping[int, np.ndarray]) -> dict[int, np.ndarray]:
        """Valid options of every attribute under ``merged`` (see
        :meth:`BDDBackend.valid_masks`), in one pass over the block graph when there is one."""
        if self._graph:
            out = self.backend.graph_valid_masks(merged)  # type: ignore[union-attr]
            if out is not None:
                return out
        return self.backend.valid_masks(merged)

    def _row(self, masks: Mapping[int, np.ndarray], key: Any) -> dict[int, np.ndarray]:
        """Options of every attribute compatible with one pick (cached under ``key``)."""
        row = self._rows.get(key)
        if row is None:
            if len(self._rows) > 20_000:
                self._rows.clear()
            row = self.backend.valid_masks(masks)
            self._rows[key] = row
        return row

    def _rule_allows(self, r: int, masks: Mapping[int, np.ndarray], keep: int | None = None) -> Any:
        """Whether rule ``r`` alone (with the domains) admits some variant meeting ``masks``;
        with ``keep``, per option of that attribute instead (its mask in ``masks`` is then
        ignored). Read off the rule's table, its projections in the usual cases."""
        c = self.problem.constraints[r]
        on: list[int] = []
        for b, m in masks.items():
            if b == keep:
                continue
            if b in self.rule_scope[r]:
                on.append(b)
            elif not m.any():
                return False if keep is None else np.zeros(len(self.opts[keep]), bool)
        if keep is not None and keep in self.rule_scope[r]:
            if not on:
                return self._proj1[r][keep]
            if len(on) == 1:
                return self._proj2[r][keep, on[0]][:, masks[on[0]]].any(axis=1)
        elif keep is not None:
            rest = {b: m for b, m in masks.items() if b != keep}
            return np.full(len(self.opts[keep]), bool(self._rule_allows(r, rest)))
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

    def _min_rules(self, masks: Mapping[int, np.ndarray]) -> list[int]:
        """A minimal set of rules that, with ``masks``, admits no variant (cached)."""
        key = _freeze(masks)
        hit = self._reasons.get(key)
        if hit is not None:
            return hit
        touched = set(masks)
        cands = [r for r, s in enumerate(self.rule_scope) if s & touched]
        found = next((r for r in cands if not self._rule_allows(r, masks)), None)
        if found is not None:
            rules = [found]
        elif isinstance(self.backend, SATBackend):
            rules = self.backend.core(masks)
            rules = self._shrink_rules(masks, rules)
        else:
            rules = self._shrink_rules(masks, list(range(len(self.rule_ids))))
        if len(self._reasons) > 50_000:
            self._reasons.clear()
        self._reasons[key] = rules
        return rules

    def _shrink_rules(self, masks: Mapping[int, np.ndarray], rules: list[int]) -> list[int]:
        if isinstance(self.backend, BDDBackend):
            return self.backend.shrink_rules(masks, rules)
        keep = list(rules)
        for r in list(keep):
            trial = [x for x in keep if x != r]
            if not self.backend.satisfiable(masks, trial):
                keep = trial
        return keep

    def _picks_text(self, picks: Sequence[_Pick]) -> dict[str, Any]:
        return {p.key: p.value for p in picks}

    def _explain(
        self, picks: Sequence[_Pick], masks: Mapping[int, np.ndarray]
    ) -> tuple[list[str], str]:
        """Rule ids and a sentence saying why ``masks`` cannot hold together with ``picks``."""
        merged = self._merge(picks)
        for a, m in masks.items():
            merged[a] = merged[a] & m if a in merged else m
        rules = self._min_rules(merged)
        why = "; ".join(self.rule_msgs[r] for r in rules) or "no variant allows it"
        if picks:
            why = f"{why} (because {', '.join(f'{p.key}={p.value}' for p in picks)})"
        return [self.rule_ids[r] for r in rules], why

    # -- picks -----------------------------------------------------------------------------
    def _fit_masks(self, meas: Mapping[str, float]) -> tuple[dict[int, np.ndarray], dict[str, Fit]]:
        masks: dict[int, np.ndarray] = {}
        fits: dict[str, Fit] = {}
        for a, names in self.measure_by_attr.items():
            given = [n for n in names if n in meas]
            if not given:
                continue
            fit = self._fit_attr(a, given, meas, self.global_valid[a])
            fits[self.attrs[a].name] = fit
            within = np.zeros(len(self.opts[a]), bool)
            for mt in fit.matches:
                within[self.opt_index[a][mt.value]] = True
            if within.any():
                masks[a] = within
        return masks, fits

    def _fit_attr(
        self, a: int, names: list[str], meas: Mapping[str, float], valid: np.ndarray, top: int = 5
    ) -> Fit:
        opts = self.opts[a]
        key = (a, tuple(names))
        if key not in self._fit_tables:  # a handful of measurement subsets per family
            self._fit_tables[key] = (
                np.stack([self._centre[a][n] for n in names], axis=1),
                np.stack([self._tol[a][n] for n in names], axis=1),
            )
        centre, tol = self._fit_tables[key]
        x = np.array([meas[n] for n in names])
        delta = x[None, :] - centre
        within = (np.abs(delta) <= tol + 1e-9).all(axis=1) & valid
        dist = np.sqrt(((delta / tol) ** 2).sum(axis=1))

        def match(j: int) -> FitMatch:
            return FitMatch(
                opts[j].value,
                {n: round(float(d), 4) for n, d in zip(names, delta[j], strict=True)},
                round(float(dist[j]), 4),
                bool(within[j]),
            )

        def nearest(idx: np.ndarray) -> np.ndarray:  # by distance, then option order
            return idx[np.lexsort((idx, dist[idx]))]

        matches = [match(int(j)) for j in nearest(np.flatnonzero(within))]
        attr = self.attrs[a].name
        given = ", ".join(f"{n} {meas[n]:g}" for n in names)
        if matches:
            return Fit(attr, matches, [], f"{len(matches)} {attr} modules fit {given}")
        near = [match(int(j)) for j in nearest(np.flatnonzero(valid))[:3]]
        if near:
            d = ", ".join(f"{k} {v:+g}" for k, v in near[0].deltas.items())
            msg = (
                f"no {attr} module fits {given} within tolerance; the nearest is "
                f"{near[0].value} (measurement minus module: {d})"
            )
        else:
            msg = f"no {attr} module is available"
        return Fit(attr, [], near, msg)

    def _picks(
        self,
        chosen: Mapping[int, int],
        texts: Mapping[str, str],
        selections: Selections | None,
        fit_masks: Mapping[int, np.ndarray],
    ) -> list[_Pick]:
        picks = [
            _Pick("measurements", self.attrs[a].name, "within tolerance", {a: m}, False)
            for a, m in fit_masks.items()
        ]
        for k in selections or {}:
            if k in texts:
                cond = self._text_cond[k]
                if cond:
                    picks.append(_Pick("selections", k, texts[k], cond, False))
            else:
                a = self.index[k]
                picks.append(
                    _Pick(
                        "selections",
                        k,
                        self.opts[a][chosen[a]].value,
                        {a: self._onehot(a, chosen[a])},
                        True,
                    )
                )
        return picks

    def _clashes(self, picks: list[_Pick]) -> list[frozenset[int]]:
        """Picks (by index) that admit no variant alone or in pairs, read off the pair tables
        without a diagram query: any set containing one is unsatisfiable, which lets the
        conflict search skip most of its satisfiability checks."""
        if not self._graph:
            return []
        single: list[tuple[int, np.ndarray, int | None] | None] = []
        for p in picks:
            if len(p.masks) == 1:
                ((a, m),) = p.masks.items()
                single.append((a, m, int(m.argmax()) if p.is_selection else None))
            else:
                single.append(None)
        out = []
        for i, si in enumerate(single):
            if si is not None and not (si[1] & self.global_valid[si[0]]).any():
                out.append(frozenset((i,)))
        for i, j in combinations(range(len(picks)), 2):
            si, sj = single[i], single[j]
            if si is None or sj is None:
                continue
            (a, ma, ja), (b, mb, jb) = si, sj
            if a == b:
                ok = bool((ma & mb & self.global_valid[a]).any())
            else:
                t = self.backend.compatible(a, b)  # type: ignore[union-attr]
                if ja is not None and jb is not None:
                    ok = bool(t[ja, jb])
                elif jb is not None:
                    ok = bool(t[ma, jb].any())
                elif ja is not None:
                    ok = bool(t[ja, mb].any())
                else:
                    ok = bool(t[ma][:, mb].any())
            if not ok:
                out.append(frozenset((i, j)))
        return out

    def _conflicts(self, picks: list[_Pick]) -> tuple[list[_Pick], list[Conflict]]:
        """Drop a smallest set of picks (ties: the earliest, so the latest choice wins)."""
        if self._sat(picks):
            return picks, []
        n = len(picks)
        clashes = self._clashes(picks)

        def sat(idx: set[int]) -> bool:  # a known clash inside answers without the diagram
            return not any(c <= idx for c in clashes) and self._sat([picks[i] for i in sorted(idx)])

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
            rules, why = self._explain(others, p.masks)
            out.append(
                Conflict(
                    p.source,
                    p.key,
                    p.value,
                    self._picks_text(others),
                    rules,
                    f"{p.key}={p.value} cannot be combined: {why}",
                )
            )
        return [picks[i] for i in kept], out

    # -- public queries --------------------------------------------------------------------
    def configure(
        self,
        selections: Selections | None = None,
        measurements: Mapping[str, float] | None = None,
        preferences: Preferences | None = None,
        learned: Learned | None = None,
    ) -> ConfigureResult:
        """Answer one interactive configuration step.

        Parameters
        ----------
        selections : ``{attribute: option value}`` plus ``{text_option: text}``.
        measurements : ``{measurement name: number}``; restricts size attributes to the modules
            within tolerance (when none fits, ``fit`` says so and sizes stay unrestricted).
        preferences : explicit soft preferences ``{attribute: value or [values, best first]}``.
        learned : ``{attribute: {value: weight}}`` from the customer's history (see
            :func:`learn_preferences`); unknown names are ignored.

        Raises
        ------
        InputError
            Unknown attribute/option/measurement, invalid text, implausible measurement.
        """
        chosen, texts = self._parse(selections)
        meas = self._check_measurements(measurements)
        prefs = self._check_preferences(preferences)
        with self._lock:
            fit_masks, fits = self._fit_masks(meas)
            picks, conflicts = self._conflicts(self._picks(chosen, texts, selections, fit_masks))
            merged = self._merge(picks)
            valid = self._valid_masks(merged)
            options = self._options(valid, picks)
            remaining = self.backend.count(merged)
            kept_sel = {p.key: p.value for p in picks if p.source == "selections"}
            dropped = {c.attribute for c in conflicts if c.source == "selections"}
            kept_texts = {k: v for k, v in texts.items() if k not in dropped}
            fixed = {
                self.index[k]: self.opt_index[self.index[k]][v]
                for k, v in kept_sel.items()
                if k in self.index
            }
            suggested = self._suggest(merged, fixed, kept_texts, prefs, learned or {}, meas)
        variant = None
        complete = False
        if not conflicts and len(fixed) == len(self.attrs) and remaining == 1:
            variant = self._variant(fixed, kept_texts)
            complete = variant.complete
        missing = self._missing_texts(fixed, kept_texts) if len(fixed) == len(self.attrs) else []
        return ConfigureResult(
            complete, variant, options, remaining, conflicts, suggested, fits, missing
        )

    def _check_preferences(self, preferences: Preferences | None) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for k, v in (preferences or {}).items():
            vals = [v] if isinstance(v, str) else list(v)
            idx = [self._option(k, x, "preferences")[1] for x in vals]
            out[self.index[k]] = idx
        return out

    def _options(
        self, valid: Mapping[int, np.ndarray], picks: list[_Pick]
    ) -> dict[str, list[OptionState]]:
        """Every option of every attribute: valid, or why not. Invalid options are explained
        in groups (those excluded by the same picks share one search for rules and one
        sentence); the first single pick that excludes an option is found for all attributes
        at once on the compiled rows."""
        n = len(self.attrs)
        states: list[list[OptionState]] = []
        lefts: list[np.ndarray | None] = []
        for a in range(n):
            st, left = self._direct_states(a, valid[a], picks)
            states.append(st)
            lefts.append(left)
        groups: list[list[tuple[list[_Pick], np.ndarray]]] = [[] for _ in range(n)]
        todo = [a for a in range(n) if lefts[a] is not None]
        if todo and self._graph:
            off = self._offsets
            big = np.concatenate(
                [lefts[a] if lefts[a] is not None else self._no[a] for a in range(n)]
            )
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
            others = [p for p in picks if not (p.is_selection and a in p.masks)]
            if not self._graph and left is not None:
                for p in others:
                    if a in p.masks:
                        continue
                    hit = left & ~self._row(p.masks, p.frozen)[a]
                    if hit.any():
                        groups[a].append(([p], hit))
                        left = left & ~hit
                        if not left.any():
                            left = None
                            break
            if left is not None:
                groups[a] += self._min_culprits(a, left, others)
            values = self.values[a]
            for culprits, sub in groups[a]:
                for rules, why, by, idx in self._group_reasons(a, sub, culprits):
                    for j in idx:
                        states[a][j] = OptionState(values[j], False, why, list(rules), dict(by))
        return {self.names[a]: states[a] for a in range(n)}

    def _direct_states(
        self, a: int, valid: np.ndarray, picks: list[_Pick]
    ) -> tuple[list[OptionState], np.ndarray | None]:
        """States of ``a`` with the options excluded by its own picks (a measurement range, a
        text) or by no variant at all explained; and the invalid options still unexplained."""
        values = self.values[a]
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
                    f"outside the tolerance of the measurements given for {self.names[a]}"
                    if p.source == "measurements"
                    else f"{p.key} needs {self.names[a]} in the options that allow it"
                )
                for j in np.flatnonzero(out).tolist():
                    states[j] = OptionState(values[j], False, why, [], {p.key: p.value})
                done |= out
                left &= ~out
        if not left.any():
            return states, None
        gv = self.global_valid[a]
        for j in np.flatnonzero(left & ~gv).tolist():
            rules, why = self._global_reason[a, j]
            states[j] = OptionState(values[j], False, why, list(rules), {})
        left &= gv
        return states, (left if left.any() else None)

    def _row_all(self, p: _Pick) -> np.ndarray:
        """Options of every attribute compatible with pick ``p`` alone, concatenated
        (all True on the attributes ``p`` constrains itself)."""
        if len(p.masks) == 1:
            ((b, m),) = p.masks.items()
            rows = self._rowmat[b]
            return rows[int(m.argmax())] if p.is_selection else rows[m].any(axis=0)
        row = self._row(p.masks, p.frozen)
        return np.concatenate(
            [~self._no[a] if a in p.masks else row[a] for a in range(len(self.attrs))]
        )

    def _min_culprits(
        self, a: int, left: np.ndarray, others: list[_Pick]
    ) -> list[tuple[list[_Pick], np.ndarray]]:
        """Options of ``a`` that no single pick excludes, split by a minimal set of picks
        that does, found by deletion in pick order. The deletion runs once per group of
        options that behave alike, one diagram query per step, instead of once per option."""
        multi = [p for p in others if p.masks.keys() - {a}]
        groups = [(multi, left)]
        for p in multi:
            nxt = []
            for keep, m in groups:
                trial = [q for q in keep if q is not p]
                if trial:
                    merged = self._merge(trial)
                    ok = self.backend.valid_masks(merged, [a])[a]
                    if a in merged:
                        ok = ok & merged[a]
                else:
                    ok = self.global_valid[a]
                drop, stay = m & ~ok, m & ok
                if drop.any():
                    nxt.append((trial, drop))
                if stay.any():
                    nxt.append((keep, stay))
            groups = nxt
        return groups

    def _group_reasons(
        self, a: int, sub: np.ndarray, culprits: list[_Pick]
    ) -> list[tuple[list[str], str, dict[str, Any], list[int]]]:
        """Rules and sentence for options of ``a`` excluded by ``culprits``: per option the
        first rule (in family order, among those touching the picks or ``a``) that alone
        excludes it, tested for the whole group at once; a minimal rule set (deletion) for the
        rest. Same answer as :meth:`_min_rules` option by option."""
        key = (a, tuple(p.frozen for p in culprits), sub.tobytes())
        hit = self._groups.get(key)
        if hit is not None:
            return hit
        merged = self._merge(culprits)
        touched = set(merged) | {a}
        by = self._picks_text(culprits)
        because = (
            f" (because {', '.join(f'{p.key}={p.value}' for p in culprits)})" if culprits else ""
        )
        out = []
        left = sub.copy()
        for r, scope in enumerate(self.rule_scope):
            if not scope & touched:
                continue
            allows = self._rule_allows(r, merged, keep=a)
            ex = left & ~(allows & merged[a] if a in merged else allows)
            if ex.any():
                out.append(
                    (
                        [self.rule_ids[r]],
                        f"{self.rule_msgs[r]}{because}",
                        by,
                        np.flatnonzero(ex).tolist(),
                    )
                )
                left &= ~ex
                if not left.any():
                    break
        for j in np.flatnonzero(left).tolist():
            rules, why = self._explain(culprits, {a: self._onehot(a, j)})
            out.append((rules, why, by, [j]))
        if len(self._groups) > 20_000:
            self._groups.clear()
        self._groups[key] = out
        return out

    def _suggest(
        self,
        merged: Mapping[int, np.ndarray],
        fixed: Mapping[int, int],
        texts: Mapping[str, str],
        prefs: Mapping[int, list[int]],
        learned: Learned,
        meas: Mapping[str, float],
    ) -> Variant | None:
        """The best valid completion, minimising lexicographically the summed criteria: unmet
        explicit preferences (rank in the customer's list), distance to the measurements,
        minus learned affinity, price, then module days. Exact on the diagram
        (:meth:`BDDBackend.minimize_scalar`); the SAT backend walks attributes greedily in
        priority order instead (each takes its best still-valid option; validity is complete,
        so the walk never dead-ends)."""
        lw: dict[int, np.ndarray] = {}
        for name, d in learned.items():
            if name in self.index:
                a = self.index[name]
                aff = np.zeros(len(self.opts[a]))
                for v, x in d.items():
                    if v in self.opt_index[a]:
                        aff[self.opt_index[a][v]] = float(x)
                lw[a] = aff
        dist: dict[int, np.ndarray] = {}
        for a, names in self.measure_by_attr.items():
            given = [n for n in names if n in meas]
            if given:
                dist[a] = np.sqrt(
                    sum(((meas[n] - self._centre[a][n]) / self._tol[a][n]) ** 2 for n in given)
                )
        # request-dependent criteria (0-2) of the attributes they touch
        high: dict[int, np.ndarray] = {}
        for a in {*prefs, *dist, *lw}:
            h = np.zeros((len(self.opts[a]), 3), np.int64)
            ranks = prefs.get(a)
            if ranks:
                h[:, 0] = len(ranks)
                for r, j in enumerate(ranks):
                    h[j, 0] = min(h[j, 0], r)
            if a in dist:
                h[:, 1] = np.round(dist[a] * 1000)
            if a in lw:
                h[:, 2] = np.round((lw[a].max() - lw[a]) * 10_000)
            high[a] = h
        if self._graph:
            r1 = sum(int(h[:, 1].max()) for h in high.values()) + 1
            r2 = sum(int(h[:, 2].max()) for h in high.values()) + 1
            scalars: list[Sequence[int]] = list(self._low)
            order: list[np.ndarray] = list(self._low_rank)
            top = 0  # the largest folded cost, to know whether int64 holds it
            for h in high.values():
                top = max(
                    top,
                    ((int(h[:, 0].max()) * r1 + int(h[:, 1].max())) * r2 + int(h[:, 2].max()))
                    * self._low_radix
                    + self._low_radix,
                )
            for a, h in high.items():
                if top < 2**62:
                    hi = (h[:, 0] * r1 + h[:, 1]) * r2 + h[:, 2]
                    scalars[a] = (hi * self._low_radix + self._low_arr[a]).tolist()
                else:
                    scalars[a] = [
                        ((x0 * r1 + x1) * r2 + x2) * self._low_radix + lo
                        for (x0, x1, x2), lo in zip(h.tolist(), self._low[a], strict=True)
                    ]
                w = self._base_w[a]
                # within one attribute, the folded order is the lexicographic order of rows
                perm = np.lexsort((w[:, 5], w[:, 4], w[:, 3], h[:, 2], h[:, 1], h[:, 0]))
                rank = np.empty(len(perm), np.int64)
                rank[perm] = np.arange(len(perm))
                order[a] = rank
            best = self.backend.minimize_scalar(  # type: ignore[union-attr]
                merged, scalars, order
            )
            if best is None:
                return None
            return self._variant(dict(enumerate(best)), texts)
        cur = dict(merged)
        if not self.backend.satisfiable(cur):
            return None
        weights: list[np.ndarray] = []  # integer criteria per option, lexicographic
        for a, base in enumerate(self._base_w):
            if a in high:
                w = base.copy()
                w[:, :3] = high[a]
                weights.append(w)
            else:
                weights.append(base)
        order_a = (
            [a for a in prefs]
            + [a for a in dist if a not in prefs]
            + sorted(
                (a for a in lw if a not in prefs and a not in dist), key=lambda a: -lw[a].max()
            )
            + [a for a in range(len(self.attrs))]
        )
        seen: set[int] = set()
        picked: dict[int, int] = dict(fixed)
        for a in order_a:
            if a in seen or a in fixed:
                continue
            seen.add(a)
            ok = self.backend.valid_masks(cur, [a])[a]
            if a in cur:
                ok = ok & cur[a]
            cand = np.flatnonzero(ok)
            if len(cand) == 0:
                return None
            wa = weights[a]
            choice = int(min(cand, key=lambda j: tuple(wa[j].tolist())))
            picked[a] = choice
            cur[a] = self._onehot(a, choice)
        return self._variant(picked, texts)

    def _missing_texts(self, fixed: Mapping[int, int], texts: Mapping[str, str]) -> list[str]:
        out = []
        for t in self.family.text_options:
            if not t.required or t.name in texts:
                continue
            cond = self._text_cond[t.name]
            if all(m[fixed[a]] for a, m in cond.items()):
                out.append(t.name)
        return out

    def _variant(self, fixed: Mapping[int, int], texts: Mapping[str, str]) -> Variant:
        sel = {self.attrs[a].name: self.opts[a][fixed[a]].value for a in range(len(self.attrs))}
        full = {**sel, **texts}
        missing = self._missing_texts(fixed, texts)
        # the totals of :meth:`price` and :meth:`lead_time`, without re-parsing the selections
        price = (
            self.family.base_price
            + sum((self._delta[a][j] for a, j in fixed.items()), Decimal(0))
            + sum((self.texts[k].cost(v) for k, v in texts.items()), Decimal(0))
        )
        days = (
            self.family.assembly_days
            + max((self._mdays[a][j] for a, j in fixed.items()), default=0)
            + sum(self._xdays[a][j] for a, j in fixed.items())
            + sum(self.texts[k].extra_days for k in texts)
        )
        return Variant(
            self._encode(fixed, texts),
            full,
            float(round(price, 2)),
            int(days),
            not missing,
            missing,
        )

    # -- fit, price, lead time --------------------------------------------------------------
    def fit(
        self, measurements: Mapping[str, float], selections: Selections | None = None
    ) -> dict[str, Fit]:
        """Nearest valid size modules for the measurements, per size attribute, with deltas.

        With ``selections``, "valid" also respects them (a fabric not made in some fits)."""
        meas = self._check_measurements(measurements)
        chosen, texts = self._parse(selections)
        with self._lock:
            picks = self._picks(chosen, texts, selections, {})
            valid = self.backend.valid_masks(self._merge(picks)) if picks else self.global_valid
            out = {}
            for a, names in self.measure_by_attr.items():
                given = [n for n in names if n in meas]
                if given:
                    out[self.attrs[a].name] = self._fit_attr(a, given, meas, valid[a])
        return out

    @staticmethod
    def _module_days(o: Option) -> int:
        return o.lead_time_days + (o.backorder_days or 0 if o.backordered else 0)

    def _resolve(self, selections: Selections) -> tuple[list[tuple[str, Option]], dict[str, str]]:
        chosen, texts = self._parse(selections)
        return ([(self.attrs[a].name, self.opts[a][j]) for a, j in sorted(chosen.items())], texts)

    def price(self, selections: Selections) -> dict[str, Any]:
        """Price breakdown of (possibly partial) selections: base, option deltas, texts."""
        opts, texts = self._resolve(selections)
        lines = [
            {"attribute": n, "value": o.value, "amount": float(o.price_delta)}
            for n, o in opts
            if o.price_delta
        ]
        text_lines = [{"name": k, "amount": float(self.texts[k].cost(v))} for k, v in texts.items()]
        total = (
            self.family.base_price
            + sum((o.price_delta for _, o in opts), Decimal(0))
            + sum((self.texts[k].cost(v) for k, v in texts.items()), Decimal(0))
        )
        return {
            "currency": self.family.currency,
            "base": float(self.family.base_price),
            "options": lines,
            "texts": text_lines,
            "total": float(round(total, 2)),
        }

    def lead_time(self, selections: Selections) -> dict[str, Any]:
        """Lead time: assembly + the slowest module (restock included) + sequential steps."""
        opts, texts = self._resolve(selections)
        slowest = max(opts, key=lambda no: self._module_days(no[1]), default=None)
        slow_days = self._module_days(slowest[1]) if slowest else 0
        steps: list[dict[str, Any]] = [
            {"attribute": n, "value": o.value, "days": o.extra_days}
            for n, o in opts
            if o.extra_days
        ]
        steps += [
            {"name": k, "days": self.texts[k].extra_days} for k in texts if self.texts[k].extra_days
        ]
        back = [
            {"attribute": n, "value": o.value, "days": o.backorder_days}
            for n, o in opts
            if o.backordered
        ]
        total = self.family.assembly_days + slow_days + sum(int(s["days"]) for s in steps)
        return {
            "assembly_days": self.family.assembly_days,
            "slowest_module": (
                None
                if slowest is None
                else {"attribute": slowest[0], "value": slowest[1].value, "days": slow_days}
            ),
            "backorders": back,
            "sequential": steps,
            "total_days": total,
        }

    # -- codes ----------------------------------------------------------------------------
    def _encode(self, fixed: Mapping[int, int], texts: Mapping[str, str]) -> str:
        radices = [len(o) for o in self.opts]
        body = codes.pack(
            self._key,
            radices,
            [fixed[a] for a in range(len(self.attrs))],
            [texts.get(t.name) for t in self.family.text_options],
        )
        return f"{self.family.id}.{self.family.version}.{body}"

    def encode(self, selections: Selections) -> str:
        """The variant code of complete, valid selections (same selections, same code).

        Raises :class:`InvalidVariant` for incomplete or rule-breaking selections: an
        attribute without an option, a rule broken, or a required free text (one its
        selections enable) not given, so a code issued here always decodes as ``complete``.
        The error's ``loc`` names the first field at fault; ``errors()`` lists every missing
        text."""
        chosen, texts = self._parse(selections)
        missing = [a.name for i, a in enumerate(self.attrs) if i not in chosen]
        if missing:
            raise InvalidVariant(
                f"incomplete: no option for {', '.join(missing)}", ("selections", missing[0])
            )
        with self._lock:
            picks = self._picks(chosen, texts, selections, {})
            if not self._sat(picks):
                _, conflicts = self._conflicts(picks)
                c = conflicts[0]
                raise InvalidVariant(c.reason, ("selections", c.attribute))
        no_text = self._missing_texts(chosen, texts)
        if no_text:
            why = "required text is missing"
            raise InvalidVariant(
                why,
                ("selections", no_text[0]),
                more=[(("selections", n), why) for n in no_text[1:]],
            )
        return self._encode(chosen, texts)

    def decode(self, code: str) -> Variant:
        """Selections, price and lead time of a code.

        Raises :class:`UnknownCode` (404) for another family or version, and
        :class:`MalformedCode` (422) for a garbled, edited or forged code."""
        fam, version, body = codes.parse_code(code)
        if fam != self.family.id or version != self.family.version:
            raise UnknownCode(f"code {code!r} is not of {self.family.id} v{self.family.version}")
        radices = [len(o) for o in self.opts]
        idx, texts = codes.unpack(self._key, radices, len(self.family.text_options), body)
        fixed = dict(enumerate(idx))
        tx = {t.name: s for t, s in zip(self.family.text_options, texts, strict=True) if s}
        return self._variant(fixed, tx)

    def spec(
        self, selections: Selections, measurements: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """What to save for a customer's configuration (and to record as a ``configure``
        event): JSON-able, reorderable with :meth:`decode` of ``code``."""
        code = self.encode(selections)
        v = self.decode(code)
        return {
            "product_id": self.family.id,
            "version": self.family.version,
            "code": code,
            "selections": v.selections,
            "measurements": dict(measurements or {}),
            "price": v.price,
            "currency": self.family.currency,
            "lead_time_days": v.lead_time_days,
        }

    # -- description ----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """The family for ``GET /v1/configurator/products/{id}``."""
        fam = self.family

        def opt(a: int, j: int, o: Option) -> dict[str, Any]:
            d: dict[str, Any] = {
                "value": o.value,
                "label": o.label or o.value,
                "price_delta": float(o.price_delta),
                "lead_time_days": self._module_days(o),
                "extra_days": o.extra_days,
                "available": bool(self.global_valid[a][j]),
                "in_stock": not o.out_of_stock,
            }
            if o.measure:
                d["measure"] = o.measure
                d["tolerance"] = o.tolerance
            return d

        return {
            "product_id": fam.id,
            "name": fam.name,
            "description": fam.description,
            "kind": fam.kind,
            "version": fam.version,
            "currency": fam.currency,
            "base_price": float(fam.base_price),
            "assembly_days": fam.assembly_days,
            "variant_count": self.variant_count,
            "backend": self.backend.kind,
            "attributes": [
                {
                    "name": a.name,
                    "label": a.label or a.name,
                    "group": a.group,
                    "options": [opt(i, j, o) for j, o in enumerate(a.values)],
                }
                for i, a in enumerate(self.attrs)
            ],
            "measurements": [m.model_dump(mode="json") for m in fam.measurements],
            "text_options": [
                {
                    "name": t.name,
                    "label": t.label or t.name,
                    "max_length": t.max_length,
                    "allowed_chars": t.allowed_chars,
                    "price": float(t.price),
                    "price_per_char": float(t.price_per_char),
                    "extra_days": t.extra_days,
                    "required": t.required,
                    "enabled_by": {
                        k: (v.model_dump(by_alias=True) if isinstance(v, Negation) else v)
                        for k, v in t.enabled_by.items()
                    },
                }
                for t in fam.text_options
            ],
            "rules": [{"id": c.id, "message": c.message} for c in self.problem.constraints],
        }


_CACHE: dict[tuple[str, bytes, str], Configurator] = {}
_CACHE_LOCK = threading.Lock()


def get_configurator(
    family: ProductFamily, *, secret: bytes = b"", backend: str = "auto"
) -> Configurator:
    """A compiled configurator for ``family``, compiled once per family content and cached
    (families are immutable per version, so the content fingerprint is the cache key)."""
    fp = hashlib.sha256(json.dumps(family.to_json(), sort_keys=True).encode()).hexdigest()
    key = (fp, secret, backend)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        hit = Configurator(family, secret=secret, backend=backend)
        with _CACHE_LOCK:
            if len(_CACHE) >= 128:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = hit
    return hit
