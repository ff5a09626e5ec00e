"""Customer profiles as one service: what the customer endpoints do, without HTTP.

A customer exists for a tenant when it has a profile or at least one event; one known only
through its events reads as a default profile (``has_profile`` false). Erasure removes every
trace in the store, then tells the listeners (the serving caches). The export gathers
everything held about one customer (data portability).

Examples
--------
>>> from events.ingest import Listeners
>>> from store import open_store
>>> from core.records import Customer
>>> import tempfile, pathlib
>>> store = open_store("embedded", sqlite_path=pathlib.Path(tempfile.mkdtemp()) / "s.sqlite3")
>>> customers = CustomerService(store, Listeners())
>>> created, view = customers.put("shop", Customer("c1", {"city": "Lyon"}))
>>> created, view.has_profile, customers.get("shop", "c1").customer.attributes
(True, True, {'city': 'Lyon'})
>>> customers.erase("shop", "c1"); customers.get("shop", "c1")
Traceback (most recent call last):
...
core.errors.NotFound: customer 'c1' not found
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import InvalidInput, NotFound
from core.records import Customer, Event
from events.ingest import Listeners
from store import CustomerItems, MergeCounts, Store

#: Told of each merge: ``(tenant, surviving id, merged ids)``, after it committed.
MergeListener = Callable[[str, str, list[str]], None]


def _not_found(customer_id: str) -> NotFound:
    return NotFound(f"customer '{customer_id}' not found")


@dataclass(frozen=True, slots=True)
class CustomerView:
    """A customer as the tenant sees it: the stored profile, or a default one (events only)."""

    customer: Customer
    has_profile: bool
    #: The customer's answers, newest first, each with its question's text (``question``).
    facts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CustomerRecords:
    """Everything held about one customer."""

    customer_id: str
    profile: Customer | None
    events: list[Event]
    history: CustomerItems
    configurations: list[dict[str, Any]]
    insights: dict[str, Any] | None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)


def _merged(current: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    """``current`` with the keys of ``patch`` set, a null removing its key (RFC 7396)."""
    out = dict(current)
    for key, value in (patch or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def apply_patch(c: Customer, patch: dict[str, Any]) -> Customer:
    """The profile ``c`` with a JSON merge patch applied (see :meth:`CustomerService.patch`).

    >>> c = Customer("c1", {"segment": "trade", "city": "Lyon"}, account_manager="am-1")
    >>> p = apply_patch(c, {"attributes": {"city": None}, "consent": {"channels": {"sms": True}}})
    >>> p.attributes, p.consent_channels, p.account_manager
    ({'segment': 'trade'}, {'sms': True}, 'am-1')
    """
    attributes = {} if "attributes" in patch and patch["attributes"] is None else c.attributes
    consent = patch.get("consent") or {}
    personalization = consent.get("personalization")
    return replace(
        c,
        attributes=_merged(attributes, patch.get("attributes")),
        consent_personalization=c.consent_personalization
        if personalization is None
        else personalization,
        consent_channels=_merged(c.consent_channels, consent.get("channels")),
        account_manager=patch.get("account_manager", c.account_manager),
    )


class CustomerService:
    """Reads, writes, erasure and export of customer profiles; raises :class:`NotFound`."""

    def __init__(self, store: Store, listeners: Listeners) -> None:
        self.store = store
        self.listeners = listeners
        self.on_merge: list[MergeListener] = []

    def resolve(self, tenant: str, customer_id: str) -> str:
        """The id a customer is kept under: the merged customer of an alias, else the id."""
        return self.store.resolve_customers(tenant, [customer_id]).get(customer_id, customer_id)

    def get(self, tenant: str, customer_id: str) -> CustomerView:
        """The profile, a default one for a customer known only by events, or NotFound.
        An alias answers the profile of the customer it was merged into."""
        customer_id = self.resolve(tenant, customer_id)
        customer = self.store.get_customer(tenant, customer_id)
        if customer is not None:
            return CustomerView(customer, True, self._facts(tenant, customer_id))
        if self.store.customer_known(tenant, customer_id):
            return CustomerView(Customer(customer_id), False, self._facts(tenant, customer_id))
        raise _not_found(customer_id)

    def aliases(self, tenant: str, customer_id: str) -> list[str]:
        """The ids merged into the customer, in id order."""
        return self.store.aliases_of(tenant, self.resolve(tenant, customer_id))

    def _facts(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        answers = self.store.list_answers(tenant, customer_id)
        if not answers:
            return []
        bank = self.store.list_questions(tenant)
        return [{**a, "question": bank.get(a["question_id"], {}).get("text")} for a in answers]

    def patch(self, tenant: str, customer_id: str, patch: dict[str, Any]) -> CustomerView:
        """Apply a JSON merge patch (RFC 7396) to the profile: only the fields sent change;
        in ``attributes`` and ``consent.channels`` a null removes that key. The read, the merge
        and the write are one store transaction, so two concurrent patches of different fields
        both survive. A customer known only by events gets a profile; an unknown one is
        NotFound."""
        cid = self.resolve(tenant, customer_id)
        if not self.store.customer_known(tenant, cid):
            raise _not_found(customer_id)

        def change(stored: Customer | None) -> Customer:
            return apply_patch(stored or Customer(cid), patch)

        self.store.update_customer(tenant, cid, change)
        return self.get(tenant, cid)

    def put_many(self, tenant: str, customers: Sequence[Customer]) -> list[bool]:
        """Create or replace several profiles in one transaction; one created flag each (an
        alias's profile is the merged customer's)."""
        aliases = self.store.resolve_customers(tenant, [c.customer_id for c in customers])
        if aliases:
            customers = [
                replace(c, customer_id=aliases.get(c.customer_id, c.customer_id)) for c in customers
            ]
        return self.store.put_customers(tenant, customers)

    def put(self, tenant: str, customer: Customer) -> tuple[bool, CustomerView]:
        """Create or replace a profile: (created, the profile as stored). Under an alias it
        replaces the merged customer's."""
        customer = replace(customer, customer_id=self.resolve(tenant, customer.customer_id))
        created = self.store.put_customer(tenant, customer)
        return created, self.get(tenant, customer.customer_id)

    def erase(self, tenant: str, customer_id: str) -> None:
        """Erase every trace of the customer and of every id merged into it, then tell the
        listeners (of each id); NotFound if none. An alias erases the customer it names."""
        customer_id = self.resolve(tenant, customer_id)
        aliases = self.store.aliases_of(tenant, customer_id)
        if not self.store.erase_customer(tenant, customer_id):
            raise _not_found(customer_id)
        for cid in [customer_id, *aliases]:
            self.listeners.customer_erased(tenant, cid)

    def merge(self, tenant: str, into: str, sources: Sequence[str]) -> MergeCounts:
        """Merge the customers ``sources`` into ``into`` (see ``AliasStore.merge_customers``),
        then tell the merge listeners (serving caches, re-scoring).

        Refused with nothing written: an unknown id (404, another tenant's included), ``into``
        among the sources, an id named twice, or an id already merged (an alias: merging it
        again, or into it, would make a cycle) — each a 4xx naming the field.
        """
        if not self.store.customer_known(tenant, into):
            if self.resolve(tenant, into) != into:
                raise InvalidInput(
                    "cannot merge into an alias",
                    [
                        {
                            "loc": ["path", "customer_id"],
                            "msg": f"'{into}' was merged into "
                            f"'{self.resolve(tenant, into)}': merge into that customer",
                        }
                    ],
                )
            raise _not_found(into)
        errors = self._merge_errors(tenant, into, list(sources))
        if errors:
            raise InvalidInput("cannot merge these customers", errors)
        counts = self.store.merge_customers(tenant, into, list(sources))
        for listener in self.on_merge:
            listener(tenant, into, list(sources))
        return counts

    def _merge_errors(self, tenant: str, into: str, sources: list[str]) -> list[dict[str, Any]]:
        if not sources:
            return [{"loc": ["body", "from"], "msg": "name at least one customer to merge"}]
        aliases = self.store.resolve_customers(tenant, sources)
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        for i, cid in enumerate(sources):
            loc = ["body", "from", i]
            if cid == into:
                errors.append({"loc": loc, "msg": "a customer cannot be merged into itself"})
            elif cid in seen:
                errors.append({"loc": loc, "msg": f"'{cid}' is named twice"})
            elif cid in aliases:
                target = aliases[cid]
                why = "into this customer" if target == into else f"into '{target}'"
                errors.append({"loc": loc, "msg": f"'{cid}' was already merged {why}"})
            elif not self.store.customer_known(tenant, cid):
                raise _not_found(cid)
            seen.add(cid)
        return errors

    def export(self, tenant: str, customer_id: str) -> CustomerRecords:
        """Everything held about the customer; NotFound when there is neither profile nor event."""
        customer_id = self.resolve(tenant, customer_id)
        profile = self.store.get_customer(tenant, customer_id)
        events = self.store.customer_events(tenant, customer_id)
        if profile is None and not events:
            raise _not_found(customer_id)
        return CustomerRecords(
            customer_id=customer_id,
            profile=profile,
            events=events,
            history=self.store.customer_items(tenant, customer_id),
            configurations=self.store.list_configurations(tenant, customer_id),
            insights=self.store.get_insights_row(tenant, customer_id),
            contacts=self.store.list_contacts(tenant, customer_id),
            cases=self.store.list_cases(tenant, customer_id),
            answers=self.store.list_answers(tenant, customer_id),
            aliases=self.store.aliases_of(tenant, customer_id),
        )
