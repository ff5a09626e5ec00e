"""Catalog: ``/v1/items``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import TypeAdapter, ValidationError

from api.deps import CatalogKey, SettingsDep, StoreDep, TenantDep
from api.problems import Problem, validation_errors
from api.routing import StrictJSONRoute
from api.schemas.common import Identifier, IndexedErrors
from api.schemas.items import (
    ItemBatch,
    ItemBatchEntry,
    ItemBatchResult,
    ItemCreate,
    ItemLookup,
    ItemPublic,
)
from core.records import Item

router = APIRouter(prefix="/v1/items", tags=["catalog"], route_class=StrictJSONRoute)


@router.put(
    "/{item_id}",
    response_model=ItemPublic,
    status_code=200,
    responses={201: {"model": ItemPublic, "description": "Created"}},
)
def put_item(
    item_id: Identifier, body: ItemCreate, key: CatalogKey, store: StoreDep, response: Response
) -> ItemPublic:
    """Create (201) or replace (200) an item."""
    record = body.to_record(item_id)
    (created,) = store.upsert_items(key.tenant, [record])
    response.status_code = 201 if created else 200
    # Read back for updated_at; a concurrent DELETE may already have removed it: answer what
    # was written.
    return ItemPublic.of(store.get_item(key.tenant, item_id) or record)


@router.post("/batch", response_model=ItemBatchResult)
def put_items(
    body: ItemBatch, key: CatalogKey, store: StoreDep, settings: SettingsDep
) -> ItemBatchResult:
    """Upsert up to ``ATELIER_MAX_BATCH_ITEMS`` items; invalid entries are reported by index."""
    if len(body.items) > settings.max_batch_items:
        raise Problem(
            413,
            f"{len(body.items)} items in one batch; at most {settings.max_batch_items}",
            errors=[{"loc": ["body", "items"], "msg": "too many items"}],
        )
    valid: list[Item] = []
    errors: list[IndexedErrors] = []
    for index, raw in enumerate(body.items):
        try:
            entry = ItemBatchEntry.model_validate(raw)
        except ValidationError as exc:
            errors.append(
                IndexedErrors.model_validate(
                    {"index": index, "errors": validation_errors(list(exc.errors()))}
                )
            )
            continue
        valid.append(entry.to_record(entry.item_id))
    if valid:
        store.upsert_items(key.tenant, valid)
    return ItemBatchResult(upserted=len(valid), errors=errors)


#: The most ids one lookup takes (a page of recommendations and offers is far fewer).
MAX_LOOKUP = 100
_IDENTIFIER: TypeAdapter[str] = TypeAdapter(Identifier)


@router.get("", response_model=ItemLookup)
async def lookup_items(
    key: TenantDep,
    store: StoreDep,
    ids: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_LOOKUP * 129,
            description=f"comma-separated item ids, at most {MAX_LOOKUP}",
        ),
    ],
) -> ItemLookup:
    """Several items in one call (titles and prices of a page of recommendations): in the
    order asked, each once; ids the catalog does not hold are listed in ``missing``."""
    wanted = list(dict.fromkeys(ids.split(",")))
    if len(wanted) > MAX_LOOKUP:
        raise Problem(
            422,
            f"{len(wanted)} ids; at most {MAX_LOOKUP}",
            errors=[{"loc": ["query", "ids"], "msg": f"at most {MAX_LOOKUP} ids"}],
        )
    for position, item_id in enumerate(wanted):
        try:
            _IDENTIFIER.validate_python(item_id)
        except ValidationError:
            raise Problem(
                422,
                f"'{item_id[:40]}' is not an item id",
                errors=[{"loc": ["query", "ids", position], "msg": "not an identifier"}],
            ) from None
    found, missing = [], []
    for item_id in wanted:
        item = store.get_item(key.tenant, item_id)
        if item is None:
            missing.append(item_id)
        else:
            found.append(ItemPublic.of(item))
    return ItemLookup(items=found, missing=missing)


@router.get("/{item_id}", response_model=ItemPublic)
async def get_item(item_id: Identifier, key: TenantDep, store: StoreDep) -> ItemPublic:
    """Any key of the tenant may read its catalog."""
    item = store.get_item(key.tenant, item_id)
    if item is None:
        raise Problem(404, f"item '{item_id}' not found")
    return ItemPublic.of(item)


@router.delete("/{item_id}", status_code=204, response_class=Response)
def delete_item(item_id: Identifier, key: CatalogKey, store: StoreDep) -> Response:
    """Delete an item; it is never recommended again."""
    if not store.delete_item(key.tenant, item_id):
        raise Problem(404, f"item '{item_id}' not found")
    return Response(status_code=204)
