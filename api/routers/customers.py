"""Customers: profiles, erasure and export (``/v1/customers``), over :class:`CustomerService`."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import CustomersDep, CustomersKey
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.customers import CustomerCreate, CustomerExport, CustomerPublic

router = APIRouter(prefix="/v1/customers", tags=["customers"], responses=PROBLEM_RESPONSES)


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
