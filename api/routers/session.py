"""``GET /v1/me``: who the caller's key is (tenant, key id, scopes), so a frontend such as the
console can show what the key may do without probing every endpoint."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import TenantDep
from api.routing import StrictJSONRoute

router = APIRouter(tags=["keys"], route_class=StrictJSONRoute)


class CallerPublic(BaseModel):
    tenant: str
    key_id: str
    scopes: list[str]


@router.get("/v1/me", response_model=CallerPublic, summary="The caller's tenant and scopes")
async def who_am_i(key: TenantDep) -> CallerPublic:
    return CallerPublic(tenant=key.tenant, key_id=key.key_id, scopes=sorted(key.scopes))
