"""Model versions and tenant policy: list, activate (roll back), business rules."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from api.deps import AdminKey, ModelVersionsDep, StoreDep
from api.openapi import errors
from api.routing import StrictJSONRoute
from api.schemas.recommendations import (
    ModelsPublic,
    ModelVersionDetail,
    ModelVersionPublic,
    TenantPolicy,
)
from recommender.versions import VersionList

router = APIRouter(tags=["models"], route_class=StrictJSONRoute)


def _public(listing: VersionList) -> ModelsPublic:
    return ModelsPublic(
        active=listing.active,
        versions=[
            ModelVersionPublic(
                version=v.version,
                active=v.active,
                created_at=v.created_at,
                metrics=v.metrics,
                family=v.family,
                params=v.params,
            )
            for v in listing.versions
        ],
    )


@router.get("/v1/models", response_model=ModelsPublic)
def list_models(key: AdminKey, versions: ModelVersionsDep) -> ModelsPublic:
    """Published versions with their metrics; which one is active."""
    return _public(versions.list(key.tenant))


@router.get("/v1/models/{version}", response_model=ModelVersionDetail)
def get_model(version: str, key: AdminKey, versions: ModelVersionsDep) -> ModelVersionDetail:
    """One version: family, parameters, data window and fingerprint, validation metrics, the
    comparison with the version active when it was trained, artifact checksums; 404 if unknown."""
    return ModelVersionDetail.model_validate(asdict(versions.get(key.tenant, version)))


@router.post("/v1/models/{version}/activate", response_model=ModelsPublic, responses=errors(409))
def activate_model(version: str, key: AdminKey, versions: ModelVersionsDep) -> ModelsPublic:
    """Switch (or roll back) to a published version; every worker follows within
    ``ATELIER_MODEL_POLL_S`` seconds, serving the old version until the new one is loaded. A
    version whose files fail validation is refused (409) and the active one keeps serving."""
    return _public(versions.activate(key.tenant, version))


@router.get("/v1/policy", response_model=TenantPolicy)
async def get_policy(key: AdminKey, store: StoreDep) -> TenantPolicy:
    """The tenant's recommendation rules (the defaults until set)."""
    return TenantPolicy.model_validate(store.get_tenant_config(key.tenant).get("policy", {}))


@router.put("/v1/policy", response_model=TenantPolicy)
def put_policy(body: TenantPolicy, key: AdminKey, store: StoreDep) -> TenantPolicy:
    """Set the tenant's recommendation rules: which interactions mean the customer already
    has an item, whether purchases may repeat (consumables). Every worker applies them from
    its next answer on."""
    config = store.get_tenant_config(key.tenant)
    config["policy"] = body.model_dump()
    store.put_tenant_config(key.tenant, config)
    return body
