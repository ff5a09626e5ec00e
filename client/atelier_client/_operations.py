"""Every operation of the API v1 as a :class:`~atelier_client._calls.Call` (path, query, body,
answer type), written once for both clients; the names are what the clients' methods are called.

Bodies drop the arguments left out (``None``), so the server's defaults apply; timestamps go as
RFC 3339 (a naive ``datetime`` is UTC). Paged lists have an ``iter_`` twin that walks the
``next_cursor`` chain; batch uploads (events, items, customers) are split into calls of at most
``batch_size`` (10,000: the API's limit) and their reports summed.

Examples
--------
>>> call = recommend("c 1", n=5, category=["shoes", "bags"], exclude=["i1", "i2"])
>>> call.path, call.query()
('/v1/customers/c%201/recommendations', {'n': 5, 'category': 'shoes,bags', 'exclude': 'i1,i2'})
>>> plan = send_events([{"customer_id": "c1", "item_id": "i1", "type": "view"}] * 3,
...                    batch_size=2)
>>> [len(c.json["events"]) for c in plan.calls], len(set(plan.event_ids))
([2, 1], 3)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, TypeAdapter
from pydantic_core import to_jsonable_python

from atelier_client._calls import Call, Paged, segment
from atelier_client.models import (
    AudienceMember,
    AudiencePublic,
    CallerPublic,
    CaseList,
    CasePublic,
    ConfigurationList,
    ConfigurationPublic,
    ConfigurePublic,
    ContactList,
    ContactPublic,
    CustomerBatchResult,
    CustomerExport,
    CustomerInsightsPublic,
    CustomerPublic,
    EntitlementsPublic,
    Event,
    EventBatchResult,
    EventsSent,
    ExperimentList,
    ExperimentPublic,
    FactPublic,
    IndexedErrors,
    InsightsHistoryPublic,
    ItemBatchResult,
    ItemLookup,
    ItemPublic,
    KeyCreated,
    KeyList,
    KeyPublic,
    ManagerList,
    ManagerSettings,
    MergeResult,
    ModelsPublic,
    ModelVersionDetail,
    NextQuestions,
    ParetoPublic,
    ProductList,
    ProductPublic,
    ProductSummary,
    QuestionList,
    QuestionPublic,
    RecommendationsPublic,
    ReportPublic,
    RetentionPublic,
    Scope,
    SegmentsByPublic,
    SegmentsPublic,
    ServiceReport,
    ShareOfCustomerPublic,
    TenantPolicy,
    TierPolicyPublic,
    ValueModelPublic,
    ValueSettingsPublic,
    VariantDecoded,
    WorklistEntry,
    WorklistPage,
)

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)
U = TypeVar("U", ItemBatchResult, CustomerBatchResult)

#: The most elements ``POST /v1/events`` and the batch upserts take in one call.
MAX_BATCH = 10_000

_adapters: dict[Any, TypeAdapter[Any]] = {}


def _as(kind: Any) -> TypeAdapter[Any]:
    """One adapter per answer type, built on first use (building one costs a schema)."""
    if kind not in _adapters:
        _adapters[kind] = TypeAdapter(kind)
    return _adapters[kind]


def _utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _json(value: Any) -> Any:
    """``value`` as JSON: models by their field names (aliases), datetimes as RFC 3339."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True)
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return to_jsonable_python(_utc(value))


def _body(**fields: Any) -> dict[str, Any]:
    """A request body of the fields given (None: not sent, the server's default applies)."""
    return {k: _json(v) for k, v in fields.items() if v is not None}


def _get(path: str, kind: Any, **params: Any) -> Call[Any]:
    return Call("GET", path, _as(kind), params=params)


def _send(method: str, path: str, kind: Any, body: Any = None) -> Call[Any]:
    return Call(method, path, _as(kind) if kind is not None else None, json=body)


# -- the service --------------------------------------------------------------------------------
def healthz() -> Call[dict[str, str]]:
    """``GET /healthz``: the process is up."""
    return _get("/healthz", dict[str, str])


def readyz() -> Call[dict[str, Any]]:
    """``GET /readyz``: the store answers and models are loaded (a 503 raises
    :class:`~atelier_client.errors.ServiceUnavailable` once the retries are spent)."""
    return _get("/readyz", dict[str, Any])


def me() -> Call[CallerPublic]:
    """``GET /v1/me``: the tenant and scopes of the key in use."""
    return _get("/v1/me", CallerPublic)


# -- catalog ------------------------------------------------------------------------------------
def put_item(
    item_id: str,
    item: ItemPublic | Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
    category: str | None = None,
    price: float | None = None,
    available: bool | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Call[ItemPublic]:
    """``PUT /v1/items/{item_id}``: create or replace an item. ``item`` may be an answer of
    :meth:`get_item` (its read-only fields are ignored by the API); keywords override it."""
    base = _json(item) if item is not None else {}
    fields = _body(
        title=title, category=category, price=price, available=available, attributes=attributes
    )
    return _send("PUT", f"/v1/items/{segment(item_id)}", ItemPublic, {**base, **fields})


def get_item(item_id: str) -> Call[ItemPublic]:
    """``GET /v1/items/{item_id}``."""
    return _get(f"/v1/items/{segment(item_id)}", ItemPublic)


def get_items(item_ids: Sequence[str]) -> Call[ItemLookup]:
    """``GET /v1/items?ids=``: several items in one call (at most 100), in the order asked."""
    return _get("/v1/items", ItemLookup, ids=",".join(item_ids))


def delete_item(item_id: str) -> Call[None]:
    """``DELETE /v1/items/{item_id}``: the item is never recommended again."""
    return _send("DELETE", f"/v1/items/{segment(item_id)}", None)


@dataclass(frozen=True)
class Batches(Generic[B, T]):
    """A large upload as the calls of its batches, how their reports add up, and the event
    ids it made (events only)."""

    calls: list[Call[B]]
    combine: Callable[[list[B]], T]
    event_ids: list[str] = field(default_factory=list)


def _chunks(rows: list[Any], size: int) -> tuple[list[list[Any]], list[int]]:
    """``rows`` in chunks of ``size``, and the index of each chunk's first row."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
    starts = list(range(0, len(rows), size))
    return [rows[i : i + size] for i in starts], starts


def _offset(errors: list[IndexedErrors], by: int) -> list[IndexedErrors]:
    """A batch's errors, indexed from the first row of the whole upload."""
    return [e.model_copy(update={"index": e.index + by}) for e in errors]


def _upsert(path: str, key: str, rows: list[Any], size: int, kind: type[U]) -> Batches[U, U]:
    chunks, starts = _chunks(rows, size)

    def combine(parts: list[U]) -> U:
        return kind(
            upserted=sum(p.upserted for p in parts),
            errors=[e for p, s in zip(parts, starts, strict=True) for e in _offset(p.errors, s)],
        )

    return Batches([_send("POST", path, kind, {key: c}) for c in chunks], combine)


def put_items(
    items: Iterable[Mapping[str, Any] | ItemPublic], *, batch_size: int = MAX_BATCH
) -> Batches[ItemBatchResult, ItemBatchResult]:
    """``POST /v1/items/batch`` as often as it takes: ``upserted`` summed, ``errors`` indexed
    from the first item given."""
    rows = [_json(i) for i in items]
    return _upsert("/v1/items/batch", "items", rows, batch_size, ItemBatchResult)


# -- customers ----------------------------------------------------------------------------------
def put_customer(
    customer_id: str,
    customer: CustomerPublic | Mapping[str, Any] | None = None,
    *,
    attributes: Mapping[str, Any] | None = None,
    consent: Mapping[str, Any] | None = None,
    account_manager: str | None = None,
) -> Call[CustomerPublic]:
    """``PUT /v1/customers/{customer_id}``: replace the profile. ``customer`` may be an answer
    of :meth:`get_customer` (read-only fields ignored by the API); keywords override it."""
    base = _json(customer) if customer is not None else {}
    fields = _body(attributes=attributes, consent=consent, account_manager=account_manager)
    return _send("PUT", f"/v1/customers/{segment(customer_id)}", CustomerPublic, base | fields)


def patch_customer(customer_id: str, patch: Mapping[str, Any]) -> Call[CustomerPublic]:
    """``PATCH /v1/customers/{customer_id}``: a JSON merge patch (a null deletes that key)."""
    return _send(
        "PATCH", f"/v1/customers/{segment(customer_id)}", CustomerPublic, _json(dict(patch))
    )


def put_customers(
    customers: Iterable[Mapping[str, Any] | CustomerPublic], *, batch_size: int = MAX_BATCH
) -> Batches[CustomerBatchResult, CustomerBatchResult]:
    """``POST /v1/customers/batch`` as often as it takes (reports summed, errors indexed from
    the first profile given)."""
    rows = [_json(c) for c in customers]
    return _upsert("/v1/customers/batch", "customers", rows, batch_size, CustomerBatchResult)


def get_customer(customer_id: str) -> Call[CustomerPublic]:
    """``GET /v1/customers/{customer_id}``: the profile with its facts."""
    return _get(f"/v1/customers/{segment(customer_id)}", CustomerPublic)


def delete_customer(customer_id: str) -> Call[None]:
    """``DELETE /v1/customers/{customer_id}``: erase every trace of the customer."""
    return _send("DELETE", f"/v1/customers/{segment(customer_id)}", None)


def merge_customers(customer_id: str, others: Sequence[str]) -> Call[MergeResult]:
    """``POST /v1/customers/{customer_id}/merge``: ``others`` become aliases of this one."""
    path = f"/v1/customers/{segment(customer_id)}/merge"
    return _send("POST", path, MergeResult, {"from": list(others)})


def export_customer(customer_id: str) -> Call[CustomerExport]:
    """``GET /v1/customers/{customer_id}/export``: everything held about the customer."""
    return _get(f"/v1/customers/{segment(customer_id)}/export", CustomerExport)


# -- account managers ---------------------------------------------------------------------------
def managers() -> Call[ManagerList]:
    """``GET /v1/account-managers``: portfolio size, value at stake, contacts overdue."""
    return _get("/v1/account-managers", ManagerList)


def manager_settings() -> Call[ManagerSettings]:
    """``GET /v1/account-managers/settings``."""
    return _get("/v1/account-managers/settings", ManagerSettings)


def put_manager_settings(portfolio_cap: int | None) -> Call[ManagerSettings]:
    """``PUT /v1/account-managers/settings`` (admin)."""
    body = {"portfolio_cap": portfolio_cap}
    return _send("PUT", "/v1/account-managers/settings", ManagerSettings, body)


def worklist(
    manager_id: str, *, limit: int = 50, cursor: str | None = None, questions: int | None = None
) -> Call[WorklistPage]:
    """``GET /v1/account-managers/{manager_id}/customers``: one page, what to do first first."""
    path = f"/v1/account-managers/{segment(manager_id)}/customers"
    return _get(path, WorklistPage, limit=limit, cursor=cursor, questions=questions)


def iter_worklist(
    manager_id: str, *, limit: int = 50, questions: int | None = None
) -> Paged[WorklistPage, WorklistEntry]:
    """Every customer of the manager's worklist, page after page."""
    return Paged(
        lambda c: worklist(manager_id, limit=limit, cursor=c, questions=questions),
        lambda p: p.customers,
        lambda p: p.next_cursor,
    )


# -- dialogue -----------------------------------------------------------------------------------
def add_contact(
    customer_id: str,
    *,
    channel: str,
    direction: Literal["inbound", "outbound"],
    contact_id: str | None = None,
    account_manager: str | None = None,
    topic: str | None = None,
    outcome: str | None = None,
    note: str | None = None,
    timestamp: datetime | None = None,
    next_contact_at: datetime | None = None,
) -> Call[ContactPublic]:
    """``POST /v1/customers/{customer_id}/contacts`` (idempotent by ``contact_id``)."""
    body = _body(
        channel=channel,
        direction=direction,
        contact_id=contact_id,
        account_manager=account_manager,
        topic=topic,
        outcome=outcome,
        note=note,
        timestamp=timestamp,
        next_contact_at=next_contact_at,
    )
    return _send("POST", f"/v1/customers/{segment(customer_id)}/contacts", ContactPublic, body)


def contacts(customer_id: str, *, limit: int = 50, cursor: str | None = None) -> Call[ContactList]:
    """``GET /v1/customers/{customer_id}/contacts``: one page, newest first."""
    path = f"/v1/customers/{segment(customer_id)}/contacts"
    return _get(path, ContactList, limit=limit, cursor=cursor)


def iter_contacts(customer_id: str, *, limit: int = 50) -> Paged[ContactList, ContactPublic]:
    """Every contact of the customer, newest first."""
    return Paged(
        lambda c: contacts(customer_id, limit=limit, cursor=c),
        lambda p: p.contacts,
        lambda p: p.next_cursor,
    )


def open_case(
    customer_id: str,
    *,
    kind: str,
    category: str,
    severity: int,
    case_id: str | None = None,
    item_id: str | None = None,
    configuration_id: str | None = None,
    description: str | None = None,
    opened_at: datetime | None = None,
) -> Call[CasePublic]:
    """``POST /v1/customers/{customer_id}/cases``: a complaint, question, repair or return."""
    body = _body(
        kind=kind,
        category=category,
        severity=severity,
        case_id=case_id,
        item_id=item_id,
        configuration_id=configuration_id,
        description=description,
        opened_at=opened_at,
    )
    return _send("POST", f"/v1/customers/{segment(customer_id)}/cases", CasePublic, body)


def update_case(customer_id: str, case_id: str, **fields: Any) -> Call[CasePublic]:
    """``PATCH /v1/customers/{customer_id}/cases/{case_id}`` (``status``, ``resolution``,
    ``compensation``, ``contacts_to_resolve``, ``resolved_at``)."""
    path = f"/v1/customers/{segment(customer_id)}/cases/{segment(case_id)}"
    return _send("PATCH", path, CasePublic, _body(**fields))


def cases(customer_id: str, *, limit: int = 50, cursor: str | None = None) -> Call[CaseList]:
    """``GET /v1/customers/{customer_id}/cases``: one page."""
    return _get(f"/v1/customers/{segment(customer_id)}/cases", CaseList, limit=limit, cursor=cursor)


def iter_cases(customer_id: str, *, limit: int = 50) -> Paged[CaseList, CasePublic]:
    """Every service case of the customer."""
    return Paged(
        lambda c: cases(customer_id, limit=limit, cursor=c),
        lambda p: p.cases,
        lambda p: p.next_cursor,
    )


def answer(
    customer_id: str,
    question_id: str,
    value: str | float,
    *,
    channel: str | None = None,
    timestamp: datetime | None = None,
) -> Call[FactPublic]:
    """``POST /v1/customers/{customer_id}/answers``: the answer becomes a dated fact."""
    body = _body(question_id=question_id, value=value, channel=channel, timestamp=timestamp)
    return _send("POST", f"/v1/customers/{segment(customer_id)}/answers", FactPublic, body)


def next_questions(customer_id: str, *, n: int = 2) -> Call[NextQuestions]:
    """``GET /v1/customers/{customer_id}/next-questions``: what to ask now, and why."""
    return _get(f"/v1/customers/{segment(customer_id)}/next-questions", NextQuestions, n=n)


def put_question(question_id: str, question: Mapping[str, Any]) -> Call[QuestionPublic]:
    """``PUT /v1/questions/{question_id}`` (admin): ``text``, ``kind``, ``attribute``, ..."""
    path = f"/v1/questions/{segment(question_id)}"
    return _send("PUT", path, QuestionPublic, _json(dict(question)))


def questions() -> Call[QuestionList]:
    """``GET /v1/questions``: the question bank."""
    return _get("/v1/questions", QuestionList)


def delete_question(question_id: str) -> Call[None]:
    """``DELETE /v1/questions/{question_id}`` (admin)."""
    return _send("DELETE", f"/v1/questions/{segment(question_id)}", None)


def service_report(
    *, since: datetime | None = None, until: datetime | None = None
) -> Call[ServiceReport]:
    """``GET /v1/insights/service``: cases per day and category, resolution, by tier."""
    return _get("/v1/insights/service", ServiceReport, since=_json(since), until=_json(until))


# -- events -------------------------------------------------------------------------------------
def _event_row(event: Event | Mapping[str, Any]) -> dict[str, Any]:
    row = _json(event) if isinstance(event, BaseModel) else _json(dict(event))
    if not row.get("event_id"):
        row["event_id"] = f"ev-{uuid.uuid4().hex}"  # made once: every retry sends the same id
    return dict(row)


def send_events(
    events: Iterable[Event | Mapping[str, Any]], *, batch_size: int = MAX_BATCH
) -> Batches[EventBatchResult, EventsSent]:
    """``POST /v1/events`` in batches of at most ``batch_size``; an event without an
    ``event_id`` gets one here, before the first attempt, so a retry is never counted twice."""
    rows = [_event_row(e) for e in events]
    ids = [r["event_id"] for r in rows]
    chunks, starts = _chunks(rows, batch_size)

    def combine(parts: list[EventBatchResult]) -> EventsSent:
        return EventsSent(
            accepted=sum(p.accepted for p in parts),
            duplicates=sum(p.duplicates for p in parts),
            rejected=[
                e for p, s in zip(parts, starts, strict=True) for e in _offset(p.rejected, s)
            ],
            batches=len(parts),
            event_ids=ids,
        )

    calls = [_send("POST", "/v1/events", EventBatchResult, {"events": c}) for c in chunks]
    return Batches(calls, combine, ids)


# -- recommendations ----------------------------------------------------------------------------
def _listed(values: str | Sequence[str] | None) -> str | None:
    if values is None or isinstance(values, str):
        return values
    return ",".join(values)


def recommend(
    customer_id: str,
    *,
    n: int = 10,
    category: str | Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    explain: bool = False,
) -> Call[RecommendationsPublic]:
    """``GET /v1/customers/{customer_id}/recommendations`` (``category``: one or several)."""
    path = f"/v1/customers/{segment(customer_id)}/recommendations"
    params = {"n": n, "category": _listed(category), "exclude": _listed(exclude)}
    return _get(path, RecommendationsPublic, **params, explain=explain or None)


def similar(
    item_id: str,
    *,
    n: int = 10,
    category: str | Sequence[str] | None = None,
    explain: bool = False,
) -> Call[RecommendationsPublic]:
    """``GET /v1/items/{item_id}/similar``."""
    path = f"/v1/items/{segment(item_id)}/similar"
    return _get(
        path, RecommendationsPublic, n=n, category=_listed(category), explain=explain or None
    )


def cross_sell(
    items: Sequence[str],
    *,
    customer_id: str | None = None,
    n: int | None = None,
    explain: bool | None = None,
) -> Call[RecommendationsPublic]:
    """``POST /v1/recommendations/cross-sell``: what goes with a basket or cart."""
    body = _body(items=list(items), customer_id=customer_id, n=n, explain=explain)
    return _send("POST", "/v1/recommendations/cross-sell", RecommendationsPublic, body)


def policy() -> Call[TenantPolicy]:
    """``GET /v1/policy`` (admin): which interactions exclude an item."""
    return _get("/v1/policy", TenantPolicy)


def put_policy(
    *, exclude_interacted: Sequence[str] | None = None, allow_repurchase: bool | None = None
) -> Call[TenantPolicy]:
    """``PUT /v1/policy`` (admin)."""
    body = _body(
        exclude_interacted=list(exclude_interacted) if exclude_interacted is not None else None,
        allow_repurchase=allow_repurchase,
    )
    return _send("PUT", "/v1/policy", TenantPolicy, body)


# -- customer intelligence ----------------------------------------------------------------------
def insights(
    customer_id: str, *, horizon_days: float | None = None
) -> Call[CustomerInsightsPublic]:
    """``GET /v1/customers/{customer_id}/insights``: value, tier, stage, next best action."""
    path = f"/v1/customers/{segment(customer_id)}/insights"
    return _get(path, CustomerInsightsPublic, horizon_days=horizon_days)


def insights_history(customer_id: str) -> Call[InsightsHistoryPublic]:
    """``GET /v1/customers/{customer_id}/insights/history``: the row at each past run."""
    return _get(f"/v1/customers/{segment(customer_id)}/insights/history", InsightsHistoryPublic)


def pareto() -> Call[ParetoPublic]:
    """``GET /v1/insights/pareto``: revenue (and profit) concentration."""
    return _get("/v1/insights/pareto", ParetoPublic)


def segments(by: str | None = None) -> Call[SegmentsPublic | SegmentsByPublic]:
    """``GET /v1/insights/segments`` (``by``: ``tier``, ``lifecycle``, ``needs`` or
    ``attribute:NAME``; without it, by tier and by lifecycle stage)."""
    return _get("/v1/insights/segments", SegmentsPublic | SegmentsByPublic, by=by)


def retention(period: Literal["month", "quarter"] | None = None) -> Call[RetentionPublic]:
    """``GET /v1/insights/retention``: cohorts, churn and reactivations per period."""
    return _get("/v1/insights/retention", RetentionPublic, period=period)


def share_of_customer() -> Call[ShareOfCustomerPublic]:
    """``GET /v1/insights/share-of-customer``."""
    return _get("/v1/insights/share-of-customer", ShareOfCustomerPublic)


def value_model() -> Call[ValueModelPublic]:
    """``GET /v1/insights/model``: the fitted customer-value models."""
    return _get("/v1/insights/model", ValueModelPublic)


def value_config() -> Call[ValueSettingsPublic]:
    """``GET /v1/insights/config`` (admin)."""
    return _get("/v1/insights/config", ValueSettingsPublic)


def put_value_config(config: Mapping[str, Any]) -> Call[ValueSettingsPublic]:
    """``PUT /v1/insights/config`` (admin): margin, costs, discount rate, tier shares, ..."""
    return _send("PUT", "/v1/insights/config", ValueSettingsPublic, _json(dict(config)))


def audience(
    *,
    tier: str | None = None,
    lifecycle_stage: str | None = None,
    action: str | None = None,
    needs_segment: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Call[AudiencePublic]:
    """``GET /v1/insights/customers``: one page of an audience (consenting to ``channel``)."""
    return _get(
        "/v1/insights/customers",
        AudiencePublic,
        tier=tier,
        lifecycle_stage=lifecycle_stage,
        action=action,
        needs_segment=needs_segment,
        channel=channel,
        limit=limit,
        cursor=cursor,
    )


def iter_audience(
    *, limit: int = 50, **filters: str | None
) -> Paged[AudiencePublic, AudienceMember]:
    """Every customer of an audience (the filters of :func:`audience`)."""
    return Paged(
        lambda c: audience(limit=limit, cursor=c, **filters),
        lambda p: p.customers,
        lambda p: p.next_cursor,
    )


def tier_policy() -> Call[TierPolicyPublic]:
    """``GET /v1/tiers/policy`` (admin): the perks per tier."""
    return _get("/v1/tiers/policy", TierPolicyPublic)


def put_tier_policy(tiers: Mapping[str, Any]) -> Call[TierPolicyPublic]:
    """``PUT /v1/tiers/policy`` (admin): ``{"MVC": {"perks": [...]}, ...}``."""
    return _send("PUT", "/v1/tiers/policy", TierPolicyPublic, {"tiers": _json(dict(tiers))})


def entitlements(customer_id: str) -> Call[EntitlementsPublic]:
    """``GET /v1/customers/{customer_id}/entitlements``: perks granted, and what earns the rest."""
    return _get(f"/v1/customers/{segment(customer_id)}/entitlements", EntitlementsPublic)


# -- configurator -------------------------------------------------------------------------------
def products() -> Call[ProductList]:
    """``GET /v1/configurator/products``: the configurable product families."""
    return _get("/v1/configurator/products", ProductList)


def product(product_id: str) -> Call[ProductPublic]:
    """``GET /v1/configurator/products/{product_id}``: attributes, options, variant count."""
    return _get(f"/v1/configurator/products/{segment(product_id)}", ProductPublic)


def put_product(product_id: str, definition: Mapping[str, Any]) -> Call[ProductSummary]:
    """``PUT /v1/configurator/products/{product_id}`` (admin): a family of the tenant's own."""
    path = f"/v1/configurator/products/{segment(product_id)}"
    return _send("PUT", path, ProductSummary, _json(dict(definition)))


def configure(
    product_id: str,
    *,
    selections: Mapping[str, str] | None = None,
    measurements: Mapping[str, float] | None = None,
    preferences: Mapping[str, Any] | None = None,
    customer_id: str | None = None,
) -> Call[ConfigurePublic]:
    """``POST /v1/configurator/products/{product_id}/configure``: valid options, conflicts,
    the variant when complete."""
    body = _body(
        selections=selections,
        measurements=measurements,
        preferences=preferences,
        customer_id=customer_id,
    )
    path = f"/v1/configurator/products/{segment(product_id)}/configure"
    return _send("POST", path, ConfigurePublic, body)


def variant(code: str) -> Call[VariantDecoded]:
    """``GET /v1/configurator/variants/{code}``: a code decoded to selections, price, lead time."""
    return _get(f"/v1/configurator/variants/{segment(code)}", VariantDecoded)


def save_configuration(customer_id: str, **spec: Any) -> Call[ConfigurationPublic]:
    """``POST /v1/customers/{customer_id}/configurations``: ``product_id`` with ``selections``
    (and ``measurements``, ``label``), or the ``code`` of a variant to reorder."""
    path = f"/v1/customers/{segment(customer_id)}/configurations"
    return _send("POST", path, ConfigurationPublic, _body(**spec))


def configurations(customer_id: str) -> Call[ConfigurationList]:
    """``GET /v1/customers/{customer_id}/configurations``: the saved specs, oldest first."""
    return _get(f"/v1/customers/{segment(customer_id)}/configurations", ConfigurationList)


# -- models, experiments, keys ------------------------------------------------------------------
def models() -> Call[ModelsPublic]:
    """``GET /v1/models`` (admin): versions with their metrics, which one is active."""
    return _get("/v1/models", ModelsPublic)


def model(version: str) -> Call[ModelVersionDetail]:
    """``GET /v1/models/{version}`` (admin): one version in full."""
    return _get(f"/v1/models/{segment(version)}", ModelVersionDetail)


def activate_model(version: str) -> Call[ModelsPublic]:
    """``POST /v1/models/{version}/activate`` (admin): switch or roll back, no restart."""
    return _send("POST", f"/v1/models/{segment(version)}/activate", ModelsPublic)


def experiments() -> Call[ExperimentList]:
    """``GET /v1/experiments`` (admin): running first, then the newest started."""
    return _get("/v1/experiments", ExperimentList)


def put_experiment(
    experiment_id: str, *, arms: Mapping[str, str], split: Mapping[str, float]
) -> Call[ExperimentPublic]:
    """``PUT /v1/experiments/{experiment_id}`` (admin): arms (model versions) and their split."""
    path = f"/v1/experiments/{segment(experiment_id)}"
    return _send("PUT", path, ExperimentPublic, {"arms": dict(arms), "split": dict(split)})


def experiment(experiment_id: str) -> Call[ExperimentPublic]:
    """``GET /v1/experiments/{experiment_id}`` (admin): the experiment and its results."""
    return _get(f"/v1/experiments/{segment(experiment_id)}", ExperimentPublic)


def end_experiment(experiment_id: str, *, promote: str | None = None) -> Call[ExperimentPublic]:
    """``DELETE /v1/experiments/{experiment_id}`` (admin), ``promote``: the arm to activate."""
    path = f"/v1/experiments/{segment(experiment_id)}"
    return Call("DELETE", path, _as(ExperimentPublic), params={"promote": promote})


def recommendations_report(
    *,
    from_: datetime | None = None,
    to: datetime | None = None,
    by: Literal["model_version", "arm"] | None = None,
    window_days: float | None = None,
    experiment_id: str | None = None,
) -> Call[ReportPublic]:
    """``GET /v1/reports/recommendations`` (admin): CTR, conversions, revenue per impression."""
    return _get(
        "/v1/reports/recommendations",
        ReportPublic,
        **{"from": _json(from_), "to": _json(to)},
        by=by,
        window_days=window_days,
        experiment_id=experiment_id,
    )


def create_key(scopes: Sequence[Scope], *, label: str | None = None) -> Call[KeyCreated]:
    """``POST /v1/keys`` (admin): a key of the caller's tenant; its secret is shown once."""
    return _send("POST", "/v1/keys", KeyCreated, _body(scopes=list(scopes), label=label))


def keys(*, limit: int = 50, cursor: str | None = None) -> Call[KeyList]:
    """``GET /v1/keys`` (admin): one page, never a secret."""
    return _get("/v1/keys", KeyList, limit=limit, cursor=cursor)


def iter_keys(*, limit: int = 50) -> Paged[KeyList, KeyPublic]:
    """Every key of the tenant."""
    return Paged(lambda c: keys(limit=limit, cursor=c), lambda p: p.keys, lambda p: p.next_cursor)


def revoke_key(key_id: str) -> Call[None]:
    """``DELETE /v1/keys/{key_id}`` (admin)."""
    return _send("DELETE", f"/v1/keys/{segment(key_id)}", None)
