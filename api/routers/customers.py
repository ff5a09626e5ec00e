"""Customers: profiles, erasure and export (``/v1/customers``), over :class:`CustomerService`."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Body, Response
from pydantic import ValidationError

from api.deps import CustomersDep, CustomersKey, SettingsDep
from api.problems import Problem, validation_errors
from api.routing import StrictJSONRoute
from api.schemas.common import Identifier, IndexedErrors
from api.schemas.customers import (
    CustomerBatch,
    CustomerBatchEntry,
    CustomerBatchResult,
    CustomerCreate,
    CustomerExport,
    CustomerPatch,
    CustomerPublic,
    MergeRequest,
    MergeResult,
)
from core.records import Customer

router = APIRouter(
    prefix="/v1/customers",
    tags=["customers"],
    route_class=StrictJSONRoute,
)


@router.post("/batch", response_model=CustomerBatchResult)
def put_customers(
    body: CustomerBatch, key: CustomersKey, customers: CustomersDep, settings: SettingsDep
) -> CustomerBatchResult:
    """Create or replace up to 10,000 profiles at once; invalid entries are reported by index
    and the valid ones stored (one transaction)."""
    if len(body.customers) > settings.max_batch_items:
        raise Problem(
            413,
            f"{len(body.customers)} customers in one batch; at most {settings.max_batch_items}",
            errors=[{"loc": ["body", "customers"], "msg": "too many customers"}],
        )
    valid: list[Customer] = []
    errors: list[IndexedErrors] = []
    for index, raw in enumerate(body.customers):
        try:
            entry = CustomerBatchEntry.model_validate(raw)
        except ValidationError as exc:
            found = validation_errors(list(exc.errors()))
            errors.append(IndexedErrors.model_validate({"index": index, "errors": found}))
            continue
        valid.append(entry.to_record(entry.customer_id))
    if valid:
        customers.put_many(key.tenant, valid)
    return CustomerBatchResult(upserted=len(valid), errors=errors)


@router.put(
    "/{customer_id}",
    response_model=CustomerPublic,
    responses={201: {"model": CustomerPublic, "description": "Created"}},
)
def put_customer(
    customer_id: Identifier,
    body: CustomerCreate,
    key: CustomersKey,
    customers: CustomersDep,
    response: Response,
) -> CustomerPublic:
    """Create (201) or replace (200) a profile."""
    created, view = customers.put(key.tenant, body.to_record(customer_id))
    response.status_code = 201 if created else 200
    return CustomerPublic.of(view)


@router.patch("/{customer_id}", response_model=CustomerPublic)
def patch_customer(
    customer_id: Identifier,
    key: CustomersKey,
    customers: CustomersDep,
    body: CustomerPatch = Body(
        media_type="application/merge-patch+json",
        openapi_examples={"manager": {"value": {"account_manager": "am-2"}}},
    ),
) -> CustomerPublic:
    """JSON merge patch (RFC 7396): only the fields sent change; in ``attributes`` and
    ``consent.channels`` a null removes that key. 404 when the customer is unknown."""
    return CustomerPublic.of(customers.patch(key.tenant, customer_id, body.to_patch()))


@router.post("/{customer_id}/merge", response_model=MergeResult)
def merge_customers(
    customer_id: Identifier, body: MergeRequest, key: CustomersKey, customers: CustomersDep
) -> MergeResult:
    """Merge other ids of the same person into this customer, in one transaction: their
    events, history, saved configurations, contacts, cases and answers move here, the old ids
    become aliases (later events under them land here) and the customer is re-scored."""
    counts = customers.merge(key.tenant, customer_id, body.from_)
    return MergeResult(
        customer_id=customer_id,
        merged=body.from_,
        aliases=customers.aliases(key.tenant, customer_id),
        moved=asdict(counts),
    )


@router.get("/{customer_id}", response_model=CustomerPublic)
async def get_customer(
    customer_id: Identifier, key: CustomersKey, customers: CustomersDep
) -> CustomerPublic:
    return CustomerPublic.of(customers.get(key.tenant, customer_id))


@router.delete("/{customer_id}", status_code=204, response_class=Response)
def delete_customer(
    customer_id: Identifier, key: CustomersKey, customers: CustomersDep
) -> Response:
    """Erase every trace of the customer: profile, events, history, configurations, insights,
    and whatever the serving layer cached for them."""
    customers.erase(key.tenant, customer_id)
    return Response(status_code=204)


@router.get("/{customer_id}/export", response_model=CustomerExport)
def export_customer(
    customer_id: Identifier, key: CustomersKey, customers: CustomersDep
) -> CustomerExport:
    """Everything held about the customer, as JSON (data portability)."""
    return CustomerExport.of(customers.export(key.tenant, customer_id))
