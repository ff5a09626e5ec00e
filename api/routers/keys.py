"""API keys of the caller's tenant: create (the secret shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import AdminKey, KeysDep
from api.routing import StrictJSONRoute
from api.schemas.keys import KeyCreate, KeyCreated, KeyList, KeyPublic

router = APIRouter(prefix="/v1/keys", tags=["keys"], route_class=StrictJSONRoute)


@router.post("", status_code=201, response_model=KeyCreated)
def create_key(body: KeyCreate, key: AdminKey, keys: KeysDep) -> KeyCreated:
    """A new key of the caller's tenant; the answer is the only time its secret is shown."""
    record, secret = keys.create(key.tenant, body.scopes, body.label)
    return KeyCreated(**KeyPublic.of(record).model_dump(), key=secret)


@router.get("", response_model=KeyList)
def list_keys(
    key: AdminKey,
    keys: KeysDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> KeyList:
    """The tenant's keys, oldest first, paged; never their secrets."""
    page, next_cursor = keys.page(key.tenant, limit, cursor)
    return KeyList(keys=[KeyPublic.of(k) for k in page], next_cursor=next_cursor)


@router.delete("/{key_id}", status_code=204, response_class=Response)
def revoke_key(key_id: str, key: AdminKey, keys: KeysDep) -> Response:
    """Revoke one of the tenant's keys (effective on every worker within
    ``ATELIER_AUTH_CACHE_TTL_S``); another tenant's key answers 404."""
    keys.revoke(key.tenant, key_id)
    return Response(status_code=204)
