"""Requests as *picks*: selections, measurements and preferences checked against a compiled
family, and the constraints each imposes.

A *pick* is one constraint the customer imposed: a selection (``fabric=selvedge``), a
measurement-derived size range (waist/hip within tolerance) or a free text (which implies its
enabling condition).

Example
-------
>>> from configurator import reference_families
>>> from configurator.compiled import CompiledFamily
>>> cf = CompiledFamily(reference_families()["logistics-bundle"])
>>> chosen, texts = parse_selections(cf, {"cargo": "chilled", "reference": "PO-7"})
>>> [(p.key, p.value) for p in make_picks(cf, chosen, texts, {"cargo": "chilled"}, {})]
[('cargo', 'chilled')]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from configurator.compiled import CompiledFamily
from configurator.errors import InputError

Selections = Mapping[str, str]
Preferences = Mapping[str, "str | Sequence[str]"]
Learned = Mapping[str, Mapping[str, float]]


@dataclass
class Pick:
    """One constraint of a request: where it came from, what it names and its masks."""

    source: str  # "selections" | "measurements"
    key: str  # attribute or text option name (measurement picks: the size attribute)
    value: Any
    masks: dict[int, np.ndarray]
    is_selection: bool  # a single option of one attribute
    frozen: tuple[Any, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.frozen = (self.key, str(self.value), freeze(self.masks))


def freeze(masks: Mapping[int, np.ndarray]) -> tuple[tuple[int, bytes], ...]:
    """A hashable form of masks (cache keys)."""
    return tuple(sorted((a, m.tobytes()) for a, m in masks.items()))


def merge(picks: Iterable[Pick]) -> dict[int, np.ndarray]:
    """The constraints of several picks together (masks of one attribute intersected)."""
    out: dict[int, np.ndarray] = {}
    for p in picks:
        for a, m in p.masks.items():
            out[a] = out[a] & m if a in out else m
    return out


def text_pairs(picks: Sequence[Pick]) -> dict[str, Any]:
    """``{key: value}`` of picks, as answers name them (``excluded_by``, ``conflicts_with``)."""
    return {p.key: p.value for p in picks}


def parse_selections(
    cf: CompiledFamily, selections: Selections | None
) -> tuple[dict[int, int], dict[str, str]]:
    """``({attribute index: option index}, {text option: text})``; :class:`InputError` for an
    unknown name or option, or a text its option does not accept."""
    chosen: dict[int, int] = {}
    texts: dict[str, str] = {}
    for k, v in (selections or {}).items():
        if k in cf.texts:
            if not isinstance(v, str):
                raise InputError("text expected", ("selections", k))
            why = cf.texts[k].check(v)
            if why:
                raise InputError(why, ("selections", k))
            texts[k] = v
        else:
            a, j = cf.option(k, v, "selections")
            chosen[a] = j
    return chosen, texts


def check_measurements(
    cf: CompiledFamily, measurements: Mapping[str, float] | None
) -> dict[str, float]:
    """Known, finite and plausible measurements as floats; :class:`InputError` otherwise."""
    out = {}
    known = {m.name: m for m in cf.family.measurements}
    for k, v in (measurements or {}).items():
        if k not in known:
            raise InputError(f"unknown measurement {k!r} of {cf.family.id}", ("measurements", k))
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


def check_preferences(cf: CompiledFamily, preferences: Preferences | None) -> dict[int, list[int]]:
    """``{attribute index: [option indices, best first]}``; :class:`InputError` for an unknown
    attribute (even with no values) or option."""
    out: dict[int, list[int]] = {}
    for k, v in (preferences or {}).items():
        a = cf.attribute(k, "preferences")
        vals = [v] if isinstance(v, str) else list(v)
        out[a] = [cf.option(k, x, "preferences")[1] for x in vals]
    return out


def make_picks(
    cf: CompiledFamily,
    chosen: Mapping[int, int],
    texts: Mapping[str, str],
    selections: Selections | None,
    fit_masks: Mapping[int, np.ndarray],
) -> list[Pick]:
    """The picks of a parsed request: measurement ranges first, then selections and texts in
    the order the customer gave them (conflict resolution lets the latest win)."""
    picks = [
        Pick("measurements", cf.names[a], "within tolerance", {a: m}, False)
        for a, m in fit_masks.items()
    ]
    for k in selections or {}:
        if k in texts:
            cond = cf.text_cond[k]
            if cond:
                picks.append(Pick("selections", k, texts[k], cond, False))
        else:
            a = cf.index[k]
            j = chosen[a]
            picks.append(Pick("selections", k, cf.values[a][j], {a: cf.onehot(a, j)}, True))
    return picks


def satisfiable(
    cf: CompiledFamily, picks: Iterable[Pick], extra: Mapping[int, np.ndarray] | None = None
) -> bool:
    """Whether some variant meets the picks (and ``extra``) together."""
    merged = merge(picks)
    for a, m in (extra or {}).items():
        merged[a] = merged[a] & m if a in merged else m
    return cf.backend.satisfiable(merged)


def missing_texts(
    cf: CompiledFamily, fixed: Mapping[int, int], texts: Mapping[str, str]
) -> list[str]:
    """Required texts that a complete assignment enables but that were not given."""
    out = []
    for t in cf.family.text_options:
        if not t.required or t.name in texts:
            continue
        cond = cf.text_cond[t.name]
        if all(m[fixed[a]] for a, m in cond.items()):
            out.append(t.name)
    return out
