"""Customers: profiles, erasure and export (``/v1/customers``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

from fastapi import APIRouter, Response

from api.deps import CustomersKey, ListenersDep, StoreDep
from api.problems import Problem
from api.schemas.common import PROBLEM_RESPONSES, Identifier
from api.schemas.customers import Consent, CustomerCreate, CustomerExport, CustomerPublic
from core.records import Customer
from store.base import Store

router = APIRouter(prefix="/v1/customers", tags=["customers"], responses=PROBLEM_RESPONSES)


def to_public(c: Customer, has_profile: bool = True) -> CustomerPublic:
    return CustomerPublic(
        customer_id=c.customer_id,
        attributes=c.attributes,
        consent=Consent(personalization=c.consent_personalization),
        account_manager=c.account_manager,
        created_at=c.created_at if has_profile else None,
        updated_at=c.updated_at if has_profile else None,
        has_profile=has_profile,
    )


def load_customer(store: Store, tenant: str, customer_id: str) -> CustomerPublic:
    """The profile, a default one for a customer known only by events, or 404."""
    customer = store.get_customer(tenant, customer_id)
    if customer is not None:
        return to_public(customer)
    if store.customer_known(tenant, customer_id):
        return to_public(Customer(customer_id), has_profile=False)
    raise Problem(404, f"customer '{customer_id}' not found")


@router.put(
    "/{customer_id}",
    response_model=CustomerPublic,
    responses={201: {"model": CustomerPublic, "description": "Created"}},
)
def put_customer(
    customer_id: Identifier,
    body: CustomerCreate,
    key: CustomersKey,
    store: StoreDep,
    response: Response,
) -> CustomerPublic:
    """Create (201) or replace (200) a profile."""
    created = store.put_customer(
        key.tenant,
        Customer(
            customer_id=customer_id,
            attributes=body.attributes,
            consent_personalization=body.consent.personalization,
            account_manager=body.account_manager,
        ),
    )
    response.status_code = 201 if created else 200
    return load_customer(store, key.tenant, customer_id)


@router.get("/{customer_id}", response_model=CustomerPublic)
async def get_customer(
    customer_id: Identifier, key: CustomersKey, store: StoreDep
) -> CustomerPublic:
    return load_customer(store, key.tenant, customer_id)


@router.delete("/{customer_id}", status_code=204, response_class=Response)
def delete_customer(
    customer_id: Identifier, key: CustomersKey, store: StoreDep, listeners: ListenersDep
) -> Response:
    """Erase every trace of the customer: profile, events, history, configurations, insights,
    and whatever the serving layer cached for them."""
    if not store.erase_customer(key.tenant, customer_id):
        raise Problem(404, f"customer '{customer_id}' not found")
    listeners.customer_erased(key.tenant, customer_id)
    return Response(status_code=204)


@router.get("/{customer_id}/export", response_model=CustomerExport)
def export_customer(customer_id: Identifier, key: CustomersKey, store: StoreDep) -> CustomerExport:
    """Everything held about the customer, as JSON (data portability)."""
    profile = store.get_customer(key.tenant, customer_id)
    events = store.customer_events(key.tenant, customer_id)
    if profile is None and not events:
        raise Problem(404, f"customer '{customer_id}' not found")
    hist = store.customer_items(key.tenant, customer_id)
    return CustomerExport(
        customer_id=customer_id,
        profile=to_public(profile) if profile else None,
        events=[
            {**asdict(e), "timestamp": datetime.fromtimestamp(e.timestamp, UTC).isoformat()}
            for e in events
        ],
        history=[
            {"item_id": i, "weight": w, "purchased": p, "last_interaction": t}
            for i, w, p, t in zip(
                hist.item_ids, hist.weights, hist.purchased, hist.last_ts, strict=True
            )
        ],
        configurations=store.list_configurations(key.tenant, customer_id),
        insights=store.get_insights_row(key.tenant, customer_id),
        exported_at=datetime.now(UTC).isoformat(),
    )
