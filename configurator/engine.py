"""The configurator of one family: a small facade over the compiled family and the modules
that answer each question (:mod:`~configurator.explain` why options are invalid,
:mod:`~configurator.conflicts` what to drop, :mod:`~configurator.suggest` the best completion,
:mod:`~configurator.fit` the size modules, :mod:`~configurator.pricing` price and lead time,
:mod:`~configurator.codes` variant codes).

Example
-------
>>> from configurator import Configurator, reference_families
>>> cfg = Configurator(reference_families()["original-spin"])
>>> res = cfg.configure({"leg_opening": "skinny"},
...                     measurements={"waist": 32, "hip": 40, "inseam": 32})
>>> res.remaining_variants > 0 and res.suggested is not None
True
>>> res.suggested.selections["waist_hip"], cfg.decode(res.suggested.code) == res.suggested
('W32-H40', True)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from configurator import codes
from configurator.backend import Backend
from configurator.compiled import CompiledFamily, fingerprint
from configurator.conflicts import resolve
from configurator.errors import InvalidVariant, UnknownCode
from configurator.explain import Explainer
from configurator.family import ProductFamily
from configurator.fit import Fitter
from configurator.picks import (
    Learned,
    Preferences,
    Selections,
    check_measurements,
    check_preferences,
    make_picks,
    merge,
    missing_texts,
    parse_selections,
    satisfiable,
)
from configurator.pricing import Pricing
from configurator.results import ConfigureResult, Fit, Variant, describe
from configurator.suggest import Suggester


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
        self.compiled = cf = CompiledFamily(
            family, secret=secret, backend=backend, budget_s=budget_s
        )
        self.explainer = Explainer(cf)
        self.suggester = Suggester(cf)
        self.fitter = Fitter(cf)
        self.pricing = Pricing(cf)

    @property
    def family(self) -> ProductFamily:
        return self.compiled.family

    @property
    def backend(self) -> Backend:
        return self.compiled.backend

    @property
    def variant_count(self) -> int:
        """Exact number of valid variants of the family."""
        return self.compiled.variant_count

    def clear_caches(self) -> None:
        """Forget every answer remembered from earlier requests (the compiled diagram and the
        tables built with it stay): the next query costs what a never-seen one costs."""
        with self.compiled.lock:
            self.explainer.clear()
            self.compiled.backend.clear_caches()

    # -- queries -------------------------------------------------------------------------------
    def configure(
        self,
        selections: Selections | None = None,
        measurements: Mapping[str, float] | None = None,
        preferences: Preferences | None = None,
        learned: Learned | None = None,
        stated: tuple[Preferences, Mapping[str, float]] | None = None,
    ) -> ConfigureResult:
        """Answer one interactive configuration step.

        Parameters
        ----------
        selections : ``{attribute: option value}`` plus ``{text_option: text}``.
        measurements : ``{measurement name: number}``; restricts size attributes to the modules
            within tolerance (when none fits, ``fit`` says so and sizes stay unrestricted).
        preferences : explicit soft preferences ``{attribute: value or [values, best first]}``.
        learned : ``{attribute: {value: weight}}`` from the customer's history (see
            :func:`configurator.preferences.learn_preferences`); unknown names are ignored.
        stated : ``(preferences, measurements)`` the customer stated (their answers, see
            :func:`configurator.preferences.stated_onto`): the suggestion prefers them where the
            request says nothing of that attribute or size, and they restrict nothing.

        Raises
        ------
        InputError
            Unknown attribute/option/measurement, invalid text, implausible measurement.
        """
        cf = self.compiled
        chosen, texts = parse_selections(cf, selections)
        meas = check_measurements(cf, measurements)
        told_prefs, told_meas = stated or ({}, {})
        prefs = check_preferences(cf, {**told_prefs, **(preferences or {})})
        with cf.lock:
            fit_masks, fits = self.fitter.masks(meas)
            picks, conflicts = resolve(
                cf, self.explainer, make_picks(cf, chosen, texts, selections, fit_masks)
            )
            merged = merge(picks)
            options = self.explainer.options(cf.backend.valid_masks(merged), picks)
            remaining = cf.backend.count(merged)
            dropped = {c.attribute for c in conflicts if c.source == "selections"}
            kept_texts = {k: v for k, v in texts.items() if k not in dropped}
            fixed = {
                cf.index[p.key]: cf.opt_index[cf.index[p.key]][p.value]
                for p in picks
                if p.source == "selections" and p.key in cf.index
            }
            best = self.suggester.suggest(
                merged, prefs, learned, self.fitter.distances(meas, told_meas)
            )
        suggested = None if best is None else self._variant(best, kept_texts)
        variant = None
        complete = False
        n = len(cf.attrs)
        if not conflicts and len(fixed) == n and remaining == 1:
            variant = self._variant(fixed, kept_texts)
            complete = variant.complete
        missing = missing_texts(cf, fixed, kept_texts) if len(fixed) == n else []
        return ConfigureResult(
            complete, variant, options, remaining, conflicts, suggested, fits, missing
        )

    def fit(
        self, measurements: Mapping[str, float], selections: Selections | None = None
    ) -> dict[str, Fit]:
        """Nearest valid size modules for the measurements, per size attribute, with deltas.

        With ``selections``, "valid" also respects them (a fabric not made in some fits)."""
        cf = self.compiled
        meas = check_measurements(cf, measurements)
        chosen, texts = parse_selections(cf, selections)
        with cf.lock:
            picks = make_picks(cf, chosen, texts, selections, {})
            valid = cf.backend.valid_masks(merge(picks)) if picks else cf.global_valid
            return self.fitter.fit(meas, valid)

    def check_measurements(self, measurements: Mapping[str, float] | None) -> dict[str, float]:
        """The measurements as floats; :class:`InputError` for an unknown or implausible one."""
        return check_measurements(self.compiled, measurements)

    def price(self, selections: Selections) -> dict[str, Any]:
        """Price breakdown of (possibly partial) selections: base, option deltas, texts."""
        return self.pricing.price(*parse_selections(self.compiled, selections))

    def lead_time(self, selections: Selections) -> dict[str, Any]:
        """Lead time: assembly + the slowest module (restock included) + sequential steps."""
        return self.pricing.lead_time(*parse_selections(self.compiled, selections))

    def describe(self) -> dict[str, Any]:
        """The family for ``GET /v1/configurator/products/{id}``."""
        return describe(self.compiled)

    # -- codes ---------------------------------------------------------------------------------
    def _variant(self, fixed: Mapping[int, int], texts: Mapping[str, str]) -> Variant:
        cf = self.compiled
        missing = missing_texts(cf, fixed, texts)
        price, days = self.pricing.totals(fixed, texts)
        return Variant(
            codes.encode(cf, fixed, texts),
            {**cf.selections(fixed), **texts},
            price,
            days,
            not missing,
            missing,
        )

    def encode(self, selections: Selections) -> str:
        """The variant code of complete, valid selections (same selections, same code).

        Raises :class:`InvalidVariant` for incomplete or rule-breaking selections: an
        attribute without an option, a rule broken, or a required free text (one its
        selections enable) not given, so a code issued here always decodes as ``complete``.
        The error's ``loc`` names the first field at fault; ``errors`` lists every missing
        text."""
        cf = self.compiled
        chosen, texts = parse_selections(cf, selections)
        missing = [a.name for i, a in enumerate(cf.attrs) if i not in chosen]
        if missing:
            raise InvalidVariant(
                f"incomplete: no option for {', '.join(missing)}", ("selections", missing[0])
            )
        with cf.lock:
            picks = make_picks(cf, chosen, texts, selections, {})
            if not satisfiable(cf, picks):
                _, conflicts = resolve(cf, self.explainer, picks)
                c = conflicts[0]
                raise InvalidVariant(c.reason, ("selections", c.attribute))
        no_text = missing_texts(cf, chosen, texts)
        if no_text:
            why = "required text is missing"
            raise InvalidVariant(
                why,
                ("selections", no_text[0]),
                more=[(("selections", n), why) for n in no_text[1:]],
            )
        return codes.encode(cf, chosen, texts)

    def decode(self, code: str) -> Variant:
        """Selections, price and lead time of a code.

        Raises :class:`UnknownCode` (404) for another family or version, and
        :class:`MalformedCode` (422) for a garbled, edited or forged code, or one that encodes
        a variant the family does not allow."""
        cf = self.compiled
        fam, version, body = codes.parse_code(code)
        if fam != cf.family.id or version != cf.family.version:
            raise UnknownCode(f"code {code!r} is not of {cf.family.id} v{cf.family.version}")
        fixed, texts = codes.decode(cf, body)
        return self._variant(fixed, texts)

    def spec(
        self, selections: Selections, measurements: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """What to save for a customer's configuration (and to record as a ``configure``
        event): JSON-able, reorderable with :meth:`decode` of ``code``."""
        code = self.encode(selections)
        v = self.decode(code)
        fam = self.compiled.family
        return {
            "product_id": fam.id,
            "version": fam.version,
            "code": code,
            "selections": v.selections,
            "measurements": dict(measurements or {}),
            "price": v.price,
            "currency": fam.currency,
            "lead_time_days": v.lead_time_days,
        }


_CACHE: dict[tuple[str, bytes, str], Configurator] = {}
_CACHE_LOCK = threading.Lock()


def get_configurator(
    family: ProductFamily, *, secret: bytes = b"", backend: str = "auto"
) -> Configurator:
    """A compiled configurator for ``family``, compiled once per family content and cached
    (families are immutable per version, so the content fingerprint is the cache key)."""
    key = (fingerprint(family), secret, backend)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        hit = Configurator(family, secret=secret, backend=backend)
        with _CACHE_LOCK:
            if len(_CACHE) >= 128:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = hit
    return hit
