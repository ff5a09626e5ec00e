"""Dependencies shared by the routers: the store, the settings, the domain services and the
calling key. Handlers name what they need (``StoreDep``, ``RecommenderDep`` ...); the services
themselves are built once per app by :func:`api.main.create_app`.

Every route names the scope it needs through one of the ``*Key`` aliases; the alias
authenticates the bearer key (401), counts the request against the key's rate limit (429 with
``Retry-After``, counted in the store so it holds across workers) and checks the scope (403).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from access.keys import KeyService, Principal
from api.problems import Problem
from configurator.service import ConfiguratorService
from customers import CustomerService
from dialogue import DialogueService
from dialogue.managers import AccountManagers
from events.ingest import Listeners
from insights.service import InsightsService
from recommender.experiments import ExperimentService
from recommender.reports import ReportService
from recommender.service import RecommendationService
from recommender.versions import ModelVersions
from settings import Settings
from store.base import Store


# async on purpose: a plain ``def`` dependency costs a thread-pool hop on every request.
async def get_store(request: Request) -> Store:
    return request.app.state.store


async def settings_of(request: Request) -> Settings:
    """The app's settings (named apart from :func:`settings.get_settings`, the environment's)."""
    return request.app.state.settings


def recommender_of(request: Request) -> RecommendationService:
    """The app's recommender, for hot routes (no dependency injection there)."""
    service: RecommendationService = request.app.state.recommender
    return service


async def get_recommender(request: Request) -> RecommendationService:
    return recommender_of(request)


async def get_model_versions(request: Request) -> ModelVersions:
    return request.app.state.model_versions


async def get_configurator(request: Request) -> ConfiguratorService:
    return request.app.state.configurator


async def get_insights(request: Request) -> InsightsService:
    return request.app.state.insights


async def get_customers(request: Request) -> CustomerService:
    return request.app.state.customers


async def get_dialogue(request: Request) -> DialogueService:
    return request.app.state.dialogue


async def get_account_managers(request: Request) -> AccountManagers:
    return request.app.state.account_managers


async def get_keys(request: Request) -> KeyService:
    return request.app.state.keys


async def get_listeners(request: Request) -> Listeners:
    return request.app.state.listeners


async def get_experiments(request: Request) -> ExperimentService:
    return request.app.state.experiments


async def get_reports(request: Request) -> ReportService:
    return request.app.state.reports


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(settings_of)]
RecommenderDep = Annotated[RecommendationService, Depends(get_recommender)]
ModelVersionsDep = Annotated[ModelVersions, Depends(get_model_versions)]
ConfiguratorDep = Annotated[ConfiguratorService, Depends(get_configurator)]
InsightsDep = Annotated[InsightsService, Depends(get_insights)]
CustomersDep = Annotated[CustomerService, Depends(get_customers)]
DialogueDep = Annotated[DialogueService, Depends(get_dialogue)]
AccountManagersDep = Annotated[AccountManagers, Depends(get_account_managers)]
ListenersDep = Annotated[Listeners, Depends(get_listeners)]
ExperimentsDep = Annotated[ExperimentService, Depends(get_experiments)]
ReportsDep = Annotated[ReportService, Depends(get_reports)]
KeysDep = Annotated[KeyService, Depends(get_keys)]

_BEARER = {"WWW-Authenticate": "Bearer"}


async def authenticate(request: Request) -> Principal:
    """The principal of the bearer key, rate limited; 401 / 429 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(401, "missing bearer API key (Authorization: Bearer <key>)", headers=_BEARER)
    state = request.app.state
    principal = state.key_cache.lookup(state.store, token.strip())
    if principal is None:
        raise Problem(401, "unknown or revoked API key", headers=_BEARER)
    settings: Settings = state.settings
    if settings.rate_limit_requests > 0:
        retry = state.store.hit_rate_limit(
            principal.key_id,
            settings.rate_limit_requests,
            settings.rate_limit_window_s,
            time.time(),
        )
        if retry > 0:
            raise Problem(
                429,
                f"rate limit of {settings.rate_limit_requests} requests per "
                f"{settings.rate_limit_window_s} s exceeded for this key",
                headers={"Retry-After": str(max(1, int(retry + 0.999)))},
            )
    request.state.tenant = principal.tenant
    return principal


def require_scope(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if scope not in principal.scopes:
            raise Problem(403, f"this API key lacks the '{scope}' scope")
        return principal

    dependency.__name__ = f"require_{scope}"
    return dependency


TenantDep = Annotated[Principal, Depends(authenticate)]
EventsKey = Annotated[Principal, Depends(require_scope("events"))]
CatalogKey = Annotated[Principal, Depends(require_scope("catalog"))]
CustomersKey = Annotated[Principal, Depends(require_scope("customers"))]
RecommendKey = Annotated[Principal, Depends(require_scope("recommend"))]
ConfigureKey = Annotated[Principal, Depends(require_scope("configure"))]
AdminKey = Annotated[Principal, Depends(require_scope("admin"))]
