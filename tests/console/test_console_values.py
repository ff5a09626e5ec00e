"""The console's choice lists are the API's own values: each list a view offers for a query
parameter equals that parameter's enum in ``/openapi.json`` (no browser needed)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from api.main import create_app
from console import assets

WORKLIST = "/v1/account-managers/{manager_id}/customers"


def _js_list(source: str, name: str) -> list[str]:
    found = re.search(rf"const {name} = \[([^\]]*)\];", source)
    assert found, f"{name} not found"
    return [v for v in json.loads(f"[{found.group(1)}]") if v]


def _enum(spec: dict[str, Any], path: str, parameter: str) -> list[str]:
    params = spec["paths"][path]["get"]["parameters"]
    schema = next(p["schema"] for p in params if p["name"] == parameter)
    options = schema.get("anyOf", [schema])
    return next(o["enum"] for o in options if "enum" in o)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("spec"))
    return create_app(settings).openapi()


@pytest.mark.parametrize(
    ("name", "parameter"),
    [("TIERS", "tier"), ("STAGES", "lifecycle_stage"), ("ACTIONS", "action"), ("ORDERS", "order")],
)
def test_the_worklist_offers_exactly_the_values_the_api_takes(
    spec: dict[str, Any], name: str, parameter: str
) -> None:
    source = assets()["worklist.js"][0].decode()
    assert sorted(_js_list(source, name)) == sorted(_enum(spec, WORKLIST, parameter))
