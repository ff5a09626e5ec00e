"""An app per backend, with helpers to mint keys for tenants."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from access.keys import create_key, parse_scopes
from api.main import create_app
from settings import Settings
from store.base import Store

ALL_SCOPES = "events,catalog,customers,recommend,configure,admin"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, auth_cache_ttl_s=0, rate_limit_requests=0, model_poll_s=0)


@pytest.fixture
def client(store: Store, settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, store)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


KeyMaker = Callable[..., dict[str, str]]


@pytest.fixture
def auth(store: Store) -> KeyMaker:
    """``auth("shop", "events,recommend")`` -> headers with a fresh key of that tenant."""

    def make(tenant: str = "shop", scopes: str = ALL_SCOPES) -> dict[str, str]:
        _, secret = create_key(store, tenant, parse_scopes(scopes))
        return {"Authorization": f"Bearer {secret}"}

    return make
