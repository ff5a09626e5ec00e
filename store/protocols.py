"""One protocol per kind of stored data; :class:`store.base.Store` composes them all.

Domain code may type-hint the narrow protocol it needs (a catalog reader takes a
:class:`CatalogStore`), and each backend implements each protocol in a module of its own
(``store/sqlite/catalog.py``, ``store/redis/catalog.py``). Everything is scoped by tenant: no
method returns another tenant's data.

Examples
--------
>>> def titles(catalog: CatalogStore, tenant: str) -> list[str | None]:
...     return [item.title for item in catalog.iter_items(tenant)]
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from core.records import ApiKey, Customer, Event, EventFrame, Item


@dataclass(slots=True)
class CustomerItems:
    """A customer's interaction history row: one entry per item they touched.

    ``weight`` is the accumulated interaction weight (the recommender's confidence), ``purchased``
    whether at least one purchase was recorded, ``last_ts`` the latest interaction time, ``kinds``
    the interaction kinds recorded on the item as a mask of ``core.records.kind_bit`` (what the
    tenant's policy reads to tell what the customer already has, and reasons name).
    """

    item_ids: list[str]
    weights: list[float]
    purchased: list[bool]
    last_ts: list[float]
    kinds: list[int]


class ServingVersions(NamedTuple):
    """What a cached recommendation depends on in the store (see ``EventStore.serving_versions``)."""

    catalog: int
    customer: int
    #: the customer this id was merged into, when it is an alias (the versions are that customer's)
    merged_into: str | None = None


@dataclass(slots=True)
class ModelVersion:
    """A published model version, its evaluation metrics, and whether it serves."""

    version: str
    metrics: dict[str, Any]
    created_at: float
    active: bool = False


class KeyStore(Protocol):
    """API keys (stored by the hash of their secret) and the per-key rate-limit windows."""

    @abstractmethod
    def put_api_key(self, key: ApiKey, key_hash: str) -> None:
        """Store a key by the SHA-256 of its secret (the secret itself is never stored)."""

    @abstractmethod
    def get_api_key(self, key_hash: str) -> ApiKey | None:
        """The key with this secret hash (one read: it is on every request's path)."""

    @abstractmethod
    def list_api_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Every key (of one tenant, or of all), oldest first."""

    @abstractmethod
    def revoke_api_key(self, key_id: str) -> bool:
        """Mark a key revoked; False when no such key exists."""

    @abstractmethod
    def hit_rate_limit(self, key_id: str, limit: int, window_s: int, now: float) -> float:
        """Count one request in the current fixed window.

        Returns 0.0 when allowed, else the seconds until the window resets (for Retry-After).
        """


class TenantStore(Protocol):
    """The tenants the store holds data for."""

    @abstractmethod
    def ensure_tenant(self, tenant: str) -> bool:
        """Create the tenant if missing; True when it was created."""

    @abstractmethod
    def list_tenants(self) -> list[str]:
        """Every tenant, in name order."""


class CatalogStore(Protocol):
    """The tenant's items, with deleted ones kept as tombstones (see ``store.codec``)."""

    @abstractmethod
    def upsert_items(self, tenant: str, items: Sequence[Item]) -> list[bool]:
        """Insert or replace items atomically; one flag per item, True when it was created."""

    @abstractmethod
    def get_item(self, tenant: str, item_id: str) -> Item | None:
        """The live item, or None when absent or deleted."""

    @abstractmethod
    def delete_item(self, tenant: str, item_id: str) -> bool:
        """Delete an item (kept as a tombstone so it is never recommended); False if absent."""

    @abstractmethod
    def iter_items(self, tenant: str, include_deleted: bool = False) -> Iterator[Item]:
        """The tenant's items in id order; tombstones (``available=False``) only when asked."""

    @abstractmethod
    def catalog_version(self, tenant: str) -> int:
        """A counter that changes whenever the tenant's catalog changes (for serving caches), or
        its policy document (``PolicyStore.put_tenant_config``): both change every cached answer."""

    @abstractmethod
    def items_changed_since(self, tenant: str, version: int) -> tuple[int, list[Item]]:
        """``(current catalog version, items changed after version)``; deleted ones come back
        with ``available=False``. Lets every worker apply catalog changes on its next request."""


class CustomerStore(Protocol):
    """Customer profiles as the tenant supplied them, and who manages whom."""

    @abstractmethod
    def put_customer(self, tenant: str, customer: Customer) -> bool:
        """Insert or replace a profile; True when it was created."""

    @abstractmethod
    def put_customers(self, tenant: str, customers: Sequence[Customer]) -> list[bool]:
        """Insert or replace several profiles in one transaction; one created flag each (a
        profile named twice is written twice, the later one winning)."""

    @abstractmethod
    def update_customer(
        self, tenant: str, customer_id: str, change: Callable[[Customer | None], Customer]
    ) -> tuple[bool, Customer]:
        """Read, change and write one profile atomically: ``change`` gets the stored profile
        (None when there is none) and returns the one to store; ``(created, stored)``. A
        concurrent write in between is never lost (``change`` may then run again, so it must
        have no side effects)."""

    @abstractmethod
    def get_customer(self, tenant: str, customer_id: str) -> Customer | None:
        """The profile, or None when the tenant never supplied one."""

    @abstractmethod
    def customer_known(self, tenant: str, customer_id: str) -> bool:
        """True when the customer has a profile or any event."""

    @abstractmethod
    def customers_of_manager(self, tenant: str, manager_id: str) -> list[Customer]:
        """The profiles whose account manager is ``manager_id``, in id order."""

    @abstractmethod
    def portfolio_version(self, tenant: str, manager_id: str) -> int:
        """A version of everything the manager's worklist is computed from, in one read.

        It changes with every write that can change the worklist: a profile joining, leaving
        or changing in the portfolio (consent), a contact or a case of one of its customers,
        their insights rows (a re-score, a job run), a merge or an erasure of one of them.
        Drawn from a tenant-wide sequence, so it never comes back to an earlier value (0
        before anything was written); a worker that kept a worklist under it knows from this
        one read whether the worklist is current.
        """

    @abstractmethod
    def iter_customers(self, tenant: str) -> Iterator[Customer]:
        """Every profile of the tenant, in id order."""


class EventStore(Protocol):
    """Events (idempotent by id), the per-customer history rows they feed, serving versions."""

    @abstractmethod
    def add_events(
        self, tenant: str, events: Sequence[Event], weights: Sequence[float] | None = None
    ) -> list[bool]:
        """Store events idempotently by ``event_id``, all or nothing, durably before returning.

        Returns one flag per event: True when new, False for a duplicate (already stored, or
        repeated earlier in the same batch). For each new event with an item, ``weights[i]`` is
        added to the customer's history row in the same transaction; a purchase marks the item
        purchased, and every interaction but an impression adds its kind to the item's ``kinds``.
        """

    @abstractmethod
    def customer_events(self, tenant: str, customer_id: str) -> list[Event]:
        """A customer's events, oldest first."""

    @abstractmethod
    def customers_events_frame(
        self, tenant: str, customer_ids: Sequence[str], types: Sequence[str] | None = None
    ) -> EventFrame:
        """The events of several customers (optionally of some types), oldest first."""

    @abstractmethod
    def events_frame(
        self,
        tenant: str,
        types: Sequence[str] | None = None,
        before: float | None = None,
    ) -> EventFrame:
        """All the tenant's events (optionally of some types, before a time) as numpy columns."""

    @abstractmethod
    def iter_events(self, tenant: str, types: Sequence[str] | None = None) -> Iterator[Event]:
        """Every event of the tenant (optionally of some types) with its context, in no order."""

    @abstractmethod
    def count_events(self, tenant: str) -> int:
        """How many events the tenant holds."""

    @abstractmethod
    def customer_items(self, tenant: str, customer_id: str) -> CustomerItems:
        """The customer's history row (empty lists for an unknown customer)."""

    @abstractmethod
    def serving_versions(self, tenant: str, customer_id: str) -> ServingVersions:
        """The catalog version and the customer's version, in one read.

        When ``customer_id`` is an alias (merged into another customer), the versions are those
        of the customer it was merged into, named in ``merged_into``: an alias answers the merged
        customer's recommendations, and a merge changes the merged customer's version.

        The customer's version changes with every write that can change their recommendations:
        an event that changes their history row (a weight or the purchased flag), a new profile
        (consent, segment), an erasure. It is drawn from a tenant-wide sequence, so it never
        comes back to an earlier value; a customer with nothing recorded reads as minus the
        tenant's count of erasures (so an answer cached before an erasure never passes for the
        erased customer's). A worker that cached an answer under both versions knows, from this
        one read, whether the answer is still current.
        """


class ErasureStore(Protocol):
    """The right to be forgotten: every kind in ``store.codec.CUSTOMER_DATA``, at once."""

    @abstractmethod
    def erase_customer(self, tenant: str, customer_id: str) -> bool:
        """Erase every trace of a customer atomically; False when nothing was held."""


class SecretStore(Protocol):
    """Secrets the service makes for itself (not tenant data), shared by every worker and
    replica: the first one stored under a name is the one everyone reads."""

    @abstractmethod
    def ensure_secret(self, name: str, candidate: str) -> str:
        """The secret stored as ``name``; ``candidate`` is stored first when there is none.
        Race-safe: of several callers at once, one candidate wins and all get it back."""


class PolicyStore(Protocol):
    """The tenant's policy document (repurchase rules, defaults)."""

    @abstractmethod
    def get_tenant_config(self, tenant: str) -> dict[str, Any]:
        """The tenant's policy document (empty when never set)."""

    @abstractmethod
    def put_tenant_config(self, tenant: str, config: dict[str, Any]) -> None:
        """Replace the tenant's policy document and, in the same write, advance the catalog
        version, so serving caches keyed by it pick the new policy up without polling."""


class ModelStore(Protocol):
    """The registry of published model versions and which one serves."""

    @abstractmethod
    def publish_model(self, tenant: str, version: str, metrics: dict[str, Any]) -> None:
        """Register a version (and activate it when the tenant has no active model)."""

    @abstractmethod
    def list_models(self, tenant: str) -> list[ModelVersion]:
        """Every published version, oldest first."""

    @abstractmethod
    def activate_model(self, tenant: str, version: str) -> bool:
        """Make ``version`` the active one; False when it was never published."""

    @abstractmethod
    def active_model(self, tenant: str) -> str | None:
        """The serving version, or None before the first publication."""


class JobLockStore(Protocol):
    """Locks that keep two runs of one offline job of one tenant (a retrain) from overlapping.

    A lock is held by whoever holds its token, until released or until its holder dies: the
    embedded store holds a file lock (freed by the OS with the process), Redis a key set with
    ``NX`` and an expiry of ``ttl_s`` (what a crashed holder can block at most).
    """

    @abstractmethod
    def acquire_job_lock(self, tenant: str, job: str, ttl_s: float) -> str | None:
        """Take the lock of ``job`` for ``tenant``: a token to release it, None when it is held."""

    @abstractmethod
    def release_job_lock(self, tenant: str, job: str, token: str) -> bool:
        """Release a lock taken with ``token``; False when it was no longer held by it."""


class ExperimentStore(Protocol):
    """A/B experiments between model versions: documents by id, at most one running per tenant.

    Starting, replacing or ending the running experiment advances the catalog version in the
    same write (as a policy does), so serving caches keyed by it follow without polling.
    """

    @abstractmethod
    def put_experiment(self, tenant: str, experiment_id: str, doc: dict[str, Any]) -> bool:
        """Start (or replace) ``experiment_id`` as the tenant's running experiment; False, and
        nothing written, when another experiment is running."""

    @abstractmethod
    def get_experiment(self, tenant: str, experiment_id: str) -> dict[str, Any] | None:
        """The experiment's document (running or ended), or None."""

    @abstractmethod
    def running_experiment(self, tenant: str) -> tuple[str, dict[str, Any]] | None:
        """``(experiment_id, document)`` of the running experiment, or None."""

    @abstractmethod
    def end_experiment(self, tenant: str, experiment_id: str, doc: dict[str, Any]) -> bool:
        """Stop ``experiment_id`` if it is the running one, keeping ``doc`` as its final
        document; False when it is not running."""

    @abstractmethod
    def list_experiments(self, tenant: str) -> list[tuple[str, dict[str, Any]]]:
        """Every experiment of the tenant, running or ended, as ``(experiment_id, document)``
        in id order."""


class InsightsStore(Protocol):
    """Customer-value results: the tenant's summary and one row per customer."""

    @abstractmethod
    def put_insights(
        self,
        tenant: str,
        summary: dict[str, Any],
        rows: dict[str, dict[str, Any]],
        history: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Replace the tenant's insights: the summary (models, Pareto, segments) and every row.

        ``history`` (customer id -> that run's entry, holding ``computed_at``) is appended to
        each customer's history and becomes visible together with the summary, never before.
        (:meth:`stage_insights` then :meth:`commit_insights`, in one call.)
        """

    @abstractmethod
    def stage_insights(
        self,
        tenant: str,
        run: str,
        rows: dict[str, dict[str, Any]],
        history: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Keep part of run ``run``'s rows and history entries aside, where no reader sees
        them, until :meth:`commit_insights`: a job streams its rows here chunk by chunk instead
        of holding them all. An erasure or merge meanwhile removes its customers from them."""

    @abstractmethod
    def commit_insights(self, tenant: str, run: str, summary: dict[str, Any]) -> None:
        """Make run ``run`` the tenant's insights at once: its staged rows replace every row
        and its history entries join each customer's history (under ``run``), with the
        summary. Readers see the previous run whole until then, this one whole after."""

    @abstractmethod
    def discard_insights(self, tenant: str, run: str) -> None:
        """Drop what run ``run`` staged (a job that failed); the current insights stay."""

    @abstractmethod
    def get_insights_summary(self, tenant: str) -> dict[str, Any] | None:
        """The summary of the last insights job, or None before the first."""

    @abstractmethod
    def get_insights_row(self, tenant: str, customer_id: str) -> dict[str, Any] | None:
        """The customer's row, or None when it was never computed."""

    @abstractmethod
    def get_insights_rows(
        self, tenant: str, customer_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """Several customers' rows in a few reads (a manager's portfolio); customers without a
        row are absent."""

    @abstractmethod
    def put_insights_rows(self, tenant: str, rows: dict[str, dict[str, Any]]) -> None:
        """Insert or replace several customers' rows at once (one transaction)."""

    @abstractmethod
    def get_insights_history(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's history entries of every stored run, oldest run first."""

    @abstractmethod
    def iter_insights_rows(
        self, tenant: str, after: str | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(customer_id, row)`` in customer id order, from just after ``after``."""

    @abstractmethod
    def get_insights_setting(self, tenant: str, name: str) -> tuple[int, dict[str, Any]] | None:
        """The newest version of the tenant's setting ``name`` and its document, or None."""

    @abstractmethod
    def put_insights_setting(self, tenant: str, name: str, doc: dict[str, Any]) -> int:
        """Store a new version of setting ``name`` (earlier ones are kept); its version, 1 up."""


class ConfiguratorStore(Protocol):
    """Product families (versioned documents) and customers' saved configurations."""

    @abstractmethod
    def put_family(self, tenant: str, family_id: str, family: dict[str, Any]) -> int:
        """Store a new version of a product family; returns its version number (1, 2, ...)."""

    @abstractmethod
    def get_family(
        self, tenant: str, family_id: str, version: int | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        """The latest (or given) version of a family as ``(version, document)``."""

    @abstractmethod
    def list_families(self, tenant: str) -> dict[str, int]:
        """Family id -> latest version."""

    @abstractmethod
    def save_configuration(
        self,
        tenant: str,
        customer_id: str,
        configuration: dict[str, Any],
        *,
        configuration_id: str | None = None,
        event: Event | None = None,
    ) -> str:
        """Save a customer's configuration (under ``configuration_id``, or a new id) and,
        when given, store ``event`` in the same transaction, so a saved spec never lacks the
        ``configure`` event the models learn from. Returns the configuration id."""

    @abstractmethod
    def list_configurations(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's saved configurations, oldest first, each with ``configuration_id``
        and ``created_at``."""


class ContactStore(Protocol):
    """Contacts outside the shop's event stream (calls, visits, mails), one document each.

    A ``contact_id`` is unique in the tenant: storing it again is a no-op (idempotent), and the
    answer says which customer already holds it, so a caller can refuse one sent under another.
    """

    @abstractmethod
    def add_contact(self, tenant: str, customer_id: str, contact: dict[str, Any]) -> str | None:
        """Store ``contact`` (with ``contact_id`` and ``timestamp``) unless its id is held;
        None when stored, else the id of the customer who already holds that ``contact_id``."""

    @abstractmethod
    def list_contacts(
        self, tenant: str, customer_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The customer's contacts, newest first (``timestamp``, then ``contact_id``)."""

    @abstractmethod
    def contacts_of(
        self, tenant: str, customer_ids: Sequence[str], *, limit: int | None = None
    ) -> dict[str, list[dict[str, Any]]]:
        """Several customers' contacts at once (at most ``limit`` each, newest first, as
        :meth:`list_contacts`): a worklist reads a whole portfolio in a few round trips.
        Customers without contacts are absent."""

    @abstractmethod
    def iter_contacts(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every contact of the tenant as ``(customer_id, contact)``, in no order."""


class CaseStore(Protocol):
    """Service cases (complaints, questions, repairs, returns), one document each, updatable.

    A ``case_id`` is unique in the tenant; :meth:`get_case` says whose case it is.
    """

    @abstractmethod
    def put_case(self, tenant: str, customer_id: str, case: dict[str, Any]) -> bool:
        """Insert or replace the case (with ``case_id`` and ``opened_at``); True when created."""

    @abstractmethod
    def get_case(self, tenant: str, case_id: str) -> tuple[str, dict[str, Any]] | None:
        """``(customer_id, case)`` of the tenant's case, or None."""

    @abstractmethod
    def list_cases(
        self, tenant: str, customer_id: str, *, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The customer's cases, newest first (``opened_at``, then ``case_id``)."""

    @abstractmethod
    def cases_of(self, tenant: str, customer_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """Several customers' cases at once, newest first each (customers without absent)."""

    @abstractmethod
    def iter_cases(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every case of the tenant as ``(customer_id, case)``, in no order."""


class QuestionStore(Protocol):
    """The tenant's question bank: question id -> its document (text, kind, attribute, ...)."""

    @abstractmethod
    def put_question(self, tenant: str, question_id: str, question: dict[str, Any]) -> bool:
        """Insert or replace a question; True when created."""

    @abstractmethod
    def list_questions(self, tenant: str) -> dict[str, dict[str, Any]]:
        """Every question of the bank, by id (in id order)."""

    @abstractmethod
    def delete_question(self, tenant: str, question_id: str) -> bool:
        """Remove a question from the bank (answers given stay facts); False if absent."""


class AnswerStore(Protocol):
    """Customers' answers to questions: one (the latest) per customer and question."""

    @abstractmethod
    def put_answer(self, tenant: str, customer_id: str, answer: dict[str, Any]) -> None:
        """Store the answer (with ``question_id`` and ``timestamp``), replacing an earlier one
        to the same question, and give the customer a new serving version (a stated preference
        changes their recommendations, so answers cached for them are stale)."""

    @abstractmethod
    def list_answers(self, tenant: str, customer_id: str) -> list[dict[str, Any]]:
        """The customer's answers, newest first."""

    @abstractmethod
    def iter_answers(self, tenant: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every answer of the tenant as ``(customer_id, answer)``, in no order."""


@dataclass(slots=True)
class MergeCounts:
    """What a merge moved onto the surviving customer."""

    events: int = 0
    history_items: int = 0
    configurations: int = 0
    contacts: int = 0
    cases: int = 0
    answers: int = 0
    profiles: int = 0


class AliasStore(Protocol):
    """One customer under several ids: merges, and the aliases they leave behind."""

    @abstractmethod
    def merge_customers(self, tenant: str, into: str, sources: Sequence[str]) -> MergeCounts:
        """Move everything of ``sources`` onto ``into`` in one transaction, and keep each source
        id (and the aliases it had) as an alias of ``into``.

        Events, history rows (weights added, purchased flags and last times combined), saved
        configurations, contacts, cases and answers (the later answer to a question wins) move;
        the profile of ``into`` keeps its fields and takes attributes it lacks from the sources'
        (or a source's profile becomes it when it has none); sources' insights rows go; every
        customer involved gets a new serving version. The caller checks that ``into`` and the
        sources are distinct, known, and no aliases.
        """

    @abstractmethod
    def resolve_customers(self, tenant: str, customer_ids: Sequence[str]) -> dict[str, str]:
        """``alias -> customer`` for those of ``customer_ids`` that are aliases."""

    @abstractmethod
    def aliases_of(self, tenant: str, customer_id: str) -> list[str]:
        """The ids merged into ``customer_id``, in id order."""
