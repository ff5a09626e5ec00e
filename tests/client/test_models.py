"""The client's answer models against the served OpenAPI document: every component an
operation answers with has a client model of that name, with the same fields (by their JSON
names), so the client cannot drift from the contract unnoticed."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from pydantic import BaseModel

from api.main import create_app
from atelier_client import models
from settings import Settings

_REF = re.compile(r"#/components/schemas/(\w+)")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("openapi"))
    return create_app(settings).openapi()


def answered(document: dict[str, Any]) -> set[str]:
    """The components any 2xx answer refers to, and those they refer to, transitively."""
    schemas = document["components"]["schemas"]
    todo = [
        ref
        for path in document["paths"].values()
        for op in path.values()
        for status, answer in op.get("responses", {}).items()
        if status.startswith("2")
        for ref in _REF.findall(str(answer))
    ]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_REF.findall(str(schemas[name])))
    return seen


def fields_of(schema: dict[str, Any], name: str) -> set[str]:
    """A component's property names; a free-form one (a serializer the document cannot see
    through) is read from the serving model's validation schema until the document lists them."""
    if "properties" in schema:
        return set(schema["properties"])
    from api.schemas import recommendations as served

    model: type[BaseModel] = getattr(served, name)
    return set(model.model_json_schema(mode="validation")["properties"])


def client_model(name: str) -> type[BaseModel] | None:
    found = getattr(models, name, None)
    return found if inspect.isclass(found) and issubclass(found, BaseModel) else None


def test_every_answer_has_a_client_model_with_the_same_fields(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    names = answered(document)
    assert {"ItemPublic", "RecommendationsPublic", "KeyList", "EventBatchResult"} <= names
    missing = sorted(n for n in names if client_model(n) is None)
    assert not missing, f"components without a client model: {missing}"
    drift = {}
    for name in sorted(names):
        model = client_model(name)
        assert model is not None
        mine = {f.alias or key for key, f in model.model_fields.items()}
        theirs = fields_of(schemas[name], name)
        if mine != theirs:
            drift[name] = {"client only": mine - theirs, "document only": theirs - mine}
    assert not drift, drift


def test_the_recommendation_item_model_is_typed() -> None:
    item = models.RecommendationsPublic.model_validate(
        {
            "model_version": "v1",
            "items": [{"item_id": "i1", "score": 0.5, "reasons": [{"type": "popular"}]}],
            "fallback": None,
        }
    ).items[0]
    assert (item.item_id, item.score, item.reasons[0].type if item.reasons else None) == (
        "i1",
        0.5,
        "popular",
    )


def test_timestamps_parse_from_either_spelling() -> None:
    base = {"item_id": "i", "title": None, "category": None, "price": None}
    base |= {"available": True, "attributes": {}}
    epoch = models.ItemPublic.model_validate({**base, "updated_at": 1_700_000_000.5})
    rfc = models.ItemPublic.model_validate({**base, "updated_at": "2023-11-14T22:13:20.5Z"})
    assert epoch.updated_at == rfc.updated_at and rfc.updated_at.tzinfo is not None
