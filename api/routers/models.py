"""Model versions and tenant policy: list, activate (roll back), business rules."""

from __future__ import annotations

import contextlib

from fastapi import APIRouter

from api.deps import AdminKey, SettingsDep, StoreDep
from api.problems import Problem
from api.schemas.common import PROBLEM_RESPONSES
from api.schemas.recommendations import ModelsPublic, ModelVersionPublic, TenantPolicy
from recommender.artifacts import read_meta, version_folder

router = APIRouter(tags=["models"], responses=PROBLEM_RESPONSES)


@router.get("/v1/models", response_model=ModelsPublic)
def list_models(key: AdminKey, store: StoreDep, settings: SettingsDep) -> ModelsPublic:
    """Published versions with their metrics; which one is active."""
    versions = []
    for m in store.list_models(key.tenant):
        meta: dict[str, object] = {}
        # A version published from another machine may have no folder here: still listed.
        with contextlib.suppress(OSError, ValueError):
            meta = read_meta(version_folder(settings.models_dir, key.tenant, m.version))
        versions.append(
            ModelVersionPublic(
                version=m.version,
                active=m.active,
                created_at=m.created_at,
                metrics=m.metrics,
                family=meta.get("family"),
                params=meta.get("params"),
            )
        )
    return ModelsPublic(active=store.active_model(key.tenant), versions=versions)


@router.post("/v1/models/{version}/activate", response_model=ModelsPublic)
def activate_model(
    version: str, key: AdminKey, store: StoreDep, settings: SettingsDep
) -> ModelsPublic:
    """Switch (or roll back) to a published version; every worker follows within
    ``ATELIER_MODEL_POLL_S`` seconds, serving the old version until the new one is loaded."""
    try:
        folder = version_folder(settings.models_dir, key.tenant, version)
    except ValueError:
        raise Problem(404, f"model version '{version}' not found") from None
    if not (folder / "meta.json").exists() or not store.activate_model(key.tenant, version):
        raise Problem(404, f"model version '{version}' not found")
    return list_models(key, store, settings)


@router.get("/v1/policy", response_model=TenantPolicy)
async def get_policy(key: AdminKey, store: StoreDep) -> TenantPolicy:
    return TenantPolicy.model_validate(store.get_tenant_config(key.tenant).get("policy", {}))


@router.put("/v1/policy", response_model=TenantPolicy)
def put_policy(body: TenantPolicy, key: AdminKey, store: StoreDep) -> TenantPolicy:
    """Set the tenant's recommendation rules (e.g. repurchase wanted for consumables)."""
    config = store.get_tenant_config(key.tenant)
    config["policy"] = body.model_dump()
    store.put_tenant_config(key.tenant, config)
    return body
