"""Preferences learned from a customer's history: what they configured, saved and bought,
weighted by kind and age, as ``{attribute: {value: weight}}`` for the suggestion; and what the
customer *stated* (answers, read as profile facts by :func:`core.facts.stated`): a fact named
like one of the family's attributes with one of its options (``fit: slim``) becomes a
preference, one named like a measurement with a plausible number (``waist: 33``) a measurement
the suggestion fits, both below what the request itself says.

Example
-------
>>> learn_preferences([{"wash": "black"}, {"wash": "black"}, {"wash": "light"}], [1, 1, 2])
{'wash': {'black': 0.5, 'light': 0.5}}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from configurator.compiled import CompiledFamily
from configurator.errors import MalformedCode, UnknownCode
from configurator.results import Variant
from core.facts import stated
from store.base import Store

#: A saved configuration (or a configured variant recorded as a ``configure`` event) counts 1,
#: a purchased item 2; both halve every HALF_LIFE_DAYS.
WEIGHT_CONFIGURATION = 1.0
WEIGHT_PURCHASE = 2.0
HALF_LIFE_DAYS = 180.0
#: The newest codes and purchased items read per configure call (bounded cost per request).
MAX_LEARNED_CODES = 100
MAX_LEARNED_PURCHASES = 200


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


@dataclass(slots=True)
class Personalization:
    """What was learned for one customer, and from what (``personalization`` in answers)."""

    customer_id: str
    learned: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Facts the customer stated that name an attribute of the family (an option of it).
    stated_preferences: dict[str, str] = field(default_factory=dict)
    #: Facts the customer stated that name a measurement of the family (within its range).
    stated_measurements: dict[str, float] = field(default_factory=dict)
    sources: dict[str, int] = field(
        default_factory=lambda: {"configurations": 0, "configure_events": 0, "purchases": 0}
    )
    status: str = "no_history"  # "applied" | "no_history" | "no_consent"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "customer_id": self.customer_id,
            "learned": self.learned,
            "stated": {**self.stated_preferences, **self.stated_measurements},
            "sources": self.sources,
            "status": self.status,
        }


#: Decodes a code for a tenant: ``(tenant, code, tenant families) -> variant``.
Decoder = Callable[[str, str, Mapping[str, int]], Variant]


def personalization(
    store: Store, decode: Decoder, tenant: str, customer_id: str, cf: CompiledFamily
) -> Personalization:
    """Soft preferences from the customer's history, mapped onto ``cf``'s options.

    What is learned, with weights (halving every ``HALF_LIFE_DAYS``):

    - the selections of each saved configuration (its code decoded), weight 1;
    - the selections of each ``configure`` event whose ``context.code`` is a variant code and
      that is not the record of a saved configuration already counted, weight 1;
    - the ``attributes`` of each purchased catalog item (not returned afterwards), weight 2.

    Only pairs that name an attribute of ``cf`` and one of its options count (codes of other
    families contribute the attributes they share, e.g. ``wash`` or ``delivery``); codes that
    no longer decode are skipped; the stated facts are mapped by :func:`stated_onto`. Nothing
    is learned or used when the customer's profile withholds consent for personalization.
    """
    out = Personalization(customer_id)
    customer = store.get_customer(tenant, customer_id)
    if customer is not None and not customer.consent_personalization:
        out.status = "no_consent"
        return out
    coded, purchased = _history(store, tenant, customer_id)
    now = time.time()
    history: list[dict[str, str]] = []
    weights: list[float] = []

    def add(selections: Mapping[str, Any], weight: float, ts: float, source: str) -> None:
        picked = _onto(cf, selections)
        if picked:
            history.append(picked)
            weights.append(weight * 0.5 ** (max(0.0, now - ts) / 86_400 / HALF_LIFE_DAYS))
            out.sources[source] += 1

    families = store.list_families(tenant)
    for code, ts, source in sorted(coded, key=lambda c: c[1])[-MAX_LEARNED_CODES:]:
        try:
            variant = decode(tenant, code, families)
        except (MalformedCode, UnknownCode):
            continue
        add(variant.selections, WEIGHT_CONFIGURATION, ts, source)
    for ts, item_id in purchased[-MAX_LEARNED_PURCHASES:]:
        item = store.get_item(tenant, item_id)
        if item is not None:
            add(item.attributes, WEIGHT_PURCHASE, ts, "purchases")
    out.learned = learn_preferences(history, weights) if history else {}
    out.stated_preferences, out.stated_measurements = stated_onto(
        cf, stated(store.list_answers(tenant, customer_id))
    )
    applied = out.learned or out.stated_preferences or out.stated_measurements
    out.status = "applied" if applied else "no_history"
    return out


def stated_onto(
    cf: CompiledFamily, facts: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, float]]:
    """The stated facts that mean something to ``cf``: ``(preferences, measurements)``.

    >>> from configurator import reference_families
    >>> cf = CompiledFamily(reference_families()["original-spin"])
    >>> stated_onto(cf, {"fit": "slim", "waist": 33, "inseam": 99, "colour": "red"})
    ({'fit': 'slim'}, {'waist': 33.0})
    """
    preferences = {
        name: value
        for name, value in facts.items()
        if name in cf.index and isinstance(value, str) and value in cf.opt_index[cf.index[name]]
    }
    measurements = {
        m.name: float(facts[m.name])
        for m in cf.family.measurements
        if isinstance(facts.get(m.name), int | float)
        and not isinstance(facts.get(m.name), bool)
        and m.min <= facts[m.name] <= m.max
    }
    return preferences, measurements


def _history(
    store: Store, tenant: str, customer_id: str
) -> tuple[list[tuple[str, float, str]], list[tuple[float, str]]]:
    """The customer's ``(code, timestamp, source)`` records, and the ``(timestamp, item)`` of
    each purchase not returned, oldest first."""
    events = store.customer_events(tenant, customer_id)
    saved = store.list_configurations(tenant, customer_id)
    coded: list[tuple[str, float, str]] = []
    saved_ids = set()
    for c in saved:
        saved_ids.add(c.get("configuration_id"))
        if isinstance(c.get("code"), str):
            coded.append((c["code"], float(c.get("created_at") or 0), "configurations"))
    purchased: dict[str, float] = {}
    returned: set[str] = set()
    for e in events:
        if e.type == "configure" and e.context:
            code = e.context.get("code")
            if isinstance(code, str) and e.context.get("configuration_id") not in saved_ids:
                coded.append((code, e.timestamp, "configure_events"))
        elif e.type == "purchase" and e.item_id is not None:
            purchased[e.item_id] = max(purchased.get(e.item_id, 0.0), e.timestamp)
        elif e.type == "return" and e.item_id is not None:
            returned.add(e.item_id)
    kept = sorted((ts, i) for i, ts in purchased.items() if i not in returned)
    return coded, kept


def _onto(cf: CompiledFamily, selections: Mapping[str, Any]) -> dict[str, str]:
    """The (attribute, option) pairs of ``selections`` that exist in ``cf``."""
    out = {}
    for name, value in selections.items():
        a = cf.index.get(name)
        if a is not None and isinstance(value, str) and value in cf.opt_index[a]:
            out[name] = value
    return out
