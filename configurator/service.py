"""The configurator as a per-worker service: the tenant's families (:mod:`~configurator.registry`),
configure steps personalised by learned preferences (:mod:`~configurator.preferences`), variant
codes, and customers' saved configurations (save, or reorder by code).

Every method raises domain errors (:mod:`configurator.errors`, kinds of :mod:`core.errors`)
whose ``loc`` is relative to the request body, and returns domain objects; the HTTP layer maps
both.

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> from store.embedded import SQLiteStore
>>> service = ConfiguratorService(SQLiteStore(Path(tempfile.mkdtemp()) / "atelier.sqlite3"))
>>> served = service.product("shop", "logistics-bundle")
>>> code = service.configure(served, {"cargo": "chilled"}).suggested.code
>>> service.variant("shop", code).variant.selections["cargo"]
'chilled'
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from configurator.engine import Configurator
from configurator.errors import FamilyError, InputError
from configurator.family import load_family
from configurator.picks import Preferences, Selections
from configurator.preferences import Personalization, personalization
from configurator.registry import FamilyRegistry, Served
from configurator.results import ConfigureResult, DecodedVariant, Variant
from core.errors import NotFound, Unavailable
from core.records import Event
from store.base import Store

#: Called with (tenant, events) once a saved configuration's configure event is stored.
EventsStored = Callable[[str, list[Event]], None]


@dataclass(frozen=True, slots=True)
class CustomerTerms:
    """What a customer's perks change in a configure answer: ``discount`` (a fraction) off
    the price and ``lead_time_days_saved`` off the lead time (a priority slot; never below one
    day), given by the perks in ``applied`` (the app connects the tier policy)."""

    discount: float = 0.0
    lead_time_days_saved: int = 0
    applied: tuple[dict[str, Any], ...] = ()

    def variant(self, variant: dict[str, Any] | None) -> dict[str, Any] | None:
        """``variant`` (a configure answer's) at the customer's terms, with the list figures."""
        if variant is None or not self.applied:
            return variant
        price = float(round(Decimal(str(variant["price"])) * (1 - Decimal(str(self.discount))), 2))
        days = max(int(variant["lead_time_days"]) - self.lead_time_days_saved, 1)
        if self.lead_time_days_saved == 0:
            days = int(variant["lead_time_days"])
        return {
            **variant,
            "price": price,
            "lead_time_days": days,
            "list_price": variant["price"],
            "list_lead_time_days": variant["lead_time_days"],
        }

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        """A configure answer at these terms: variant and suggestion, and the perks applied."""
        return {
            **body,
            "variant": self.variant(body.get("variant")),
            "suggested": self.variant(body.get("suggested")),
            "perks": list(self.applied),
        }


class ConfiguratorService:
    """Families, configure steps, codes and saved configurations for every tenant.

    Parameters
    ----------
    store : Store
    secret : bytes or callable, optional
        Key of the variant-code integrity tags, or a callable asked for it on first use
        (:class:`~configurator.secret.CodeKey`); default: the secret kept in ``store``.
    on_events : callable, optional
        Told of each configure event recorded for a saved configuration (the listeners that
        learn from events: recommendations, insights).
    """

    def __init__(
        self,
        store: Store,
        secret: bytes | Callable[[], bytes] | None = None,
        on_events: EventsStored | None = None,
    ) -> None:
        self.store = store
        self.registry = FamilyRegistry(store, secret)
        self.on_events = on_events
        #: ``(tenant, customer_id) -> CustomerTerms`` (the app connects the tier perks).
        self.terms: Callable[[str, str], CustomerTerms] | None = None

    # -- families ------------------------------------------------------------------------------
    def warm(self) -> None:
        """Compile the reference families now (at start-up, in the background) rather than in
        the first configurator request; while the store cannot give the code key, first use
        compiles them instead."""
        with contextlib.suppress(Unavailable):
            self.registry.reference  # noqa: B018 (the property compiles and keeps them)

    def products(self, tenant: str) -> list[Served]:
        """Every family the tenant can configure, latest versions, by id."""
        return self.registry.products(tenant)

    def product(self, tenant: str, product_id: str) -> Served:
        """The current version of a family; :class:`UnknownProduct` (404) if there is none."""
        return self.registry.product(tenant, product_id)

    def put_family(self, tenant: str, product_id: str, doc: Mapping[str, Any]) -> Served:
        """Load or replace a tenant family: validated and compiled before it is stored, so a
        broken family never reaches the store; ``version`` in ``doc`` is ignored (the store
        numbers versions). Raises :class:`FamilyError` for a malformed family and
        :class:`InputError` at ``rules`` for one that admits no variant."""
        family = load_family({**doc, "version": 1})
        if family.id != product_id:
            raise FamilyError(f"id {family.id!r} does not match the path's {product_id!r}", ["id"])
        # Compile under the version the store will most likely assign, so that the usual case
        # compiles once; a concurrent load of the same family just costs a second compile.
        expected = self.store.list_families(tenant).get(product_id, 0) + 1
        cfg = self.registry.compile(load_family({**family.to_json(), "version": expected}))
        if cfg.variant_count == 0:
            raise InputError(
                "the rules exclude every variant",
                ("rules",),
                detail="the family admits no valid variant",
            )
        stored = {k: v for k, v in family.to_json().items() if k != "version"}
        version = self.store.put_family(tenant, product_id, stored)
        if version != expected:
            cfg = self.registry.compile(load_family({**stored, "version": version}))
        return self.registry.remember(tenant, cfg)

    # -- configure and codes ---------------------------------------------------------------------
    def personalization(self, tenant: str, customer_id: str, cfg: Configurator) -> Personalization:
        """Preferences learned from the customer's history for ``cfg`` (several store reads)."""

        def decode(tenant: str, code: str, families: Mapping[str, int]) -> Variant:
            return self.registry.decode(tenant, code, families)[1]

        customer_id = self._owner(tenant, customer_id)
        return personalization(self.store, decode, tenant, customer_id, cfg.compiled)

    def customer_terms(self, tenant: str, customer_id: str) -> CustomerTerms:
        """The customer's terms (their perks' discount and priority); none when unconnected."""
        return CustomerTerms() if self.terms is None else self.terms(tenant, customer_id)

    def configure(
        self,
        served: Served,
        selections: Selections | None = None,
        measurements: Mapping[str, float] | None = None,
        preferences: Preferences | None = None,
        personal: Personalization | None = None,
    ) -> ConfigureResult:
        """One interactive step on a family (see :meth:`Configurator.configure`), with what
        was learned from and stated by the customer when ``personal`` is given."""
        if personal is None:
            return served.cfg.configure(selections, measurements, preferences)
        stated = (personal.stated_preferences, personal.stated_measurements)
        return served.cfg.configure(selections, measurements, preferences, personal.learned, stated)

    def variant(self, tenant: str, code: str) -> DecodedVariant:
        """A code decoded by the family version that issued it, with its price and lead-time
        breakdowns. Raises :class:`MalformedCode` (422) or :class:`UnknownCode` (404)."""
        served, variant = self.registry.decode(tenant, code)
        cfg = served.cfg
        fam = cfg.family
        return DecodedVariant(
            variant,
            fam.id,
            fam.version,
            fam.currency,
            cfg.price(variant.selections),
            cfg.lead_time(variant.selections),
        )

    # -- saved configurations --------------------------------------------------------------------
    def _owner(self, tenant: str, customer_id: str) -> str:
        """The id a customer's records are kept under: the merged customer of an alias (a
        configuration saved under an old id after a merge belongs to the merged customer)."""
        return self.store.resolve_customers(tenant, [customer_id]).get(customer_id, customer_id)

    def save_configuration(
        self,
        tenant: str,
        customer_id: str,
        *,
        code: str | None = None,
        product_id: str | None = None,
        selections: Selections | None = None,
        measurements: Mapping[str, float] | None = None,
        label: str | None = None,
    ) -> dict[str, Any]:
        """Save a complete, valid variant for the customer, or reorder one by its ``code``.

        A reorder re-validates the code's selections against the product's current version
        (the capability trap: only what can be made today) and carries over the measurements
        and label of the customer's earlier configuration with that code. The configuration is
        recorded with a ``configure`` event in the same store transaction (``item_id`` null,
        context with product_id, code, version and configuration_id), so recommendations,
        insights and learned preferences see it. Returns the stored configuration.

        Raises :class:`MalformedCode` or :class:`UnknownCode` for a bad ``code``, and
        :class:`InputError` (``loc`` in the body) for an unknown product, missing selections,
        bad measurements or a variant the current version does not allow.
        """
        customer_id = self._owner(tenant, customer_id)
        if code is not None:
            cfg, selections, measurements, label, nest = self._reorder(
                tenant, customer_id, code, measurements, label
            )
        else:
            cfg = self._current(tenant, product_id)
            selections = selections or {}
            self._check_complete(cfg, selections)
            nest = ()
        if measurements:
            cfg.check_measurements(measurements)
        try:  # the engine refuses rule-breaking or incomplete variants (required texts included)
            spec = cfg.spec(selections, measurements)
        except InputError as exc:
            if not nest:
                raise
            raise exc.under(*nest) from exc
        doc: dict[str, Any] = {**spec, "label": label}
        if code is not None:
            doc["reorder_of"] = code
        return self._store(tenant, customer_id, doc)

    def _reorder(
        self,
        tenant: str,
        customer_id: str,
        code: str,
        measurements: Mapping[str, float] | None,
        label: str | None,
    ) -> tuple[Configurator, Selections, Mapping[str, float] | None, str | None, tuple[str, ...]]:
        """What a reorder saves: the current version, the code's selections, and measurements
        and label carried over from the earlier configuration with that code."""
        served, old = self.registry.decode(tenant, code)
        current = self.registry.latest(tenant, served.cfg.family.id) or served
        earlier = next(
            (
                c
                for c in reversed(self.store.list_configurations(tenant, customer_id))
                if c.get("code") == code
            ),
            None,
        )
        if earlier is not None:
            measurements = measurements if measurements is not None else earlier.get("measurements")
            label = label if label is not None else earlier.get("label")
        return current.cfg, old.selections, measurements, label, ("code",)

    def _current(self, tenant: str, product_id: str | None) -> Configurator:
        served = None if product_id is None else self.registry.latest(tenant, product_id)
        if served is None:
            raise InputError(
                "unknown product", ("product_id",), detail=f"product '{product_id}' not found"
            )
        return served.cfg

    @staticmethod
    def _check_complete(cfg: Configurator, selections: Selections) -> None:
        """Every attribute has an option (a saved configuration is a complete variant)."""
        missing = [name for name in cfg.compiled.names if name not in selections]
        if missing:
            why = "no option selected (a saved configuration must be a complete variant)"
            raise InputError(
                why,
                ("selections", missing[0]),
                more=[(("selections", n), why) for n in missing[1:]],
                detail=f"incomplete configuration: no option for {', '.join(missing)}",
            )

    def _store(self, tenant: str, customer_id: str, doc: dict[str, Any]) -> dict[str, Any]:
        """Store the configuration and its configure event in one transaction."""
        configuration_id = uuid.uuid4().hex[:16]
        event = Event(
            event_id=f"configuration:{configuration_id}",
            customer_id=customer_id,
            type="configure",
            timestamp=time.time(),
            context={
                "product_id": doc["product_id"],
                "version": doc["version"],
                "code": doc["code"],
                "configuration_id": configuration_id,
            },
        )
        self.store.save_configuration(
            tenant, customer_id, doc, configuration_id=configuration_id, event=event
        )
        if self.on_events is not None:
            self.on_events(tenant, [event])
        return next(
            (
                c
                for c in self.store.list_configurations(tenant, customer_id)
                if c.get("configuration_id") == configuration_id
            ),
            {**doc, "configuration_id": configuration_id, "created_at": time.time()},
        )

    def saved_configurations(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's saved configurations, oldest first; :class:`~core.errors.NotFound`
        for a customer the tenant never saw. An alias answers its merged customer's."""
        customer_id = self._owner(tenant, customer_id)
        saved = self.store.list_configurations(tenant, customer_id)
        if not saved and not self.store.customer_known(tenant, customer_id):
            raise NotFound(f"customer '{customer_id}' not found")
        return saved
