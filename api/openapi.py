"""The served OpenAPI document: FastAPI's, made into the exact contract a client is generated from.

On top of what FastAPI writes: the bearer-key security scheme with the scope each operation needs
(so ``/docs`` has an Authorize button and generated clients send the key), short stable operation
ids (``recommendForCustomer``), and on every operation the ``application/problem+json`` answers it
can give, each with the problem schema (``Retry-After`` on 429 and 503, ``WWW-Authenticate`` on
401) in place of FastAPI's ``HTTPValidationError``.

An operation's scope is read from its dependencies (``api.deps.require_scope`` names them
``require_<scope>``); a hot route, which has none, declares its ``security`` itself through
``openapi_extra``. The error statuses follow from what the operation has (a key: 401, 429, 503;
a scope: 403; parameters or a body: 422; parameters: 414; a body: 413; a path parameter: 404);
a route declares the others it can answer (409, a 404 without a path parameter) with
:func:`errors`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from api.problems import PROBLEM_MEDIA_TYPE, TITLES
from api.schemas.common import ProblemPublic

SCHEME = "bearerKey"
_REF = "#/components/schemas/{model}"
_PROBLEM = {"$ref": _REF.format(model="ProblemPublic")}

#: Operation ids where the endpoint's name alone would be vague; the others are the endpoint's
#: name in camelCase (``put_item`` -> ``putItem``). Stable: clients are generated from them.
OPERATION_IDS = {
    "get_settings": "getManagerSettings",
    "put_settings": "putManagerSettings",
    "answer": "answerQuestion",
    "audience": "listAudience",
    "segments": "getSegments",
    "pareto": "getPareto",
    "retention": "getRetention",
    "value_model": "getValueModel",
    "share_of_customer": "getShareOfCustomer",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before trying again",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "the scheme to authenticate with (Bearer)",
            "schema": {"type": "string"},
        }
    },
    429: _RETRY_AFTER,
    503: _RETRY_AFTER,
}
_WHY = {
    400: "the request cannot be read",
    401: "no key, or an unknown or revoked one",
    403: "the key lacks the operation's scope",
    404: "no such resource for this key's tenant",
    409: "the request conflicts with the resource's state",
    413: "the body, or a batch in it, is larger than the limit",
    414: "the URL is longer than 65,535 bytes",
    422: "invalid input: `errors` names each field (`loc`) and why (`msg`)",
    429: "the key's rate limit is exceeded; retry after `Retry-After` seconds",
    503: "the store is unreachable or not ready; retry after `Retry-After` seconds",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses`` for error statuses it answers beyond those :mod:`api.openapi`
    derives (e.g. ``errors(409)``); :func:`document` gives each the problem schema."""
    return {status: {"description": _WHY.get(status, TITLES[status])} for status in statuses}


def problem_response_doc(status: int, description: str | None = None) -> dict[str, Any]:
    """The OpenAPI response object of a problem document with ``status``."""
    doc: dict[str, Any] = {
        "description": description or _WHY.get(status, TITLES.get(status, "Error")),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM}},
    }
    if status in _HEADERS:
        doc["headers"] = _HEADERS[status]
    return doc


def _calls(dependant: Dependant) -> Iterator[str]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield getattr(sub.call, "__name__", "")
        yield from _calls(sub)


def api_routes(routes: Sequence[Any]) -> Iterator[APIRoute]:
    """Every ``APIRoute`` of the app, those of included routers too (FastAPI keeps an included
    router as one entry; the routers here are included without a prefix, so a route's path is
    the app's)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from api_routes(route.original_router.routes)


def route_scope(route: APIRoute) -> str | None:
    """The scope the route's key needs: ``""`` for any valid key, None for no key at all."""
    names = list(_calls(route.dependant))
    scopes = [n.removeprefix("require_") for n in names if n.startswith("require_")]
    if scopes:
        return scopes[0]
    return "" if "authenticate" in names else None


def operation_id(route: APIRoute) -> str:
    """``put_item`` -> ``putItem`` (or the name in :data:`OPERATION_IDS`).

    >>> operation_id(APIRoute("/x", lambda: None, name="recommend_for_customer"))
    'recommendForCustomer'
    """
    name = route.name
    if name in OPERATION_IDS:
        return OPERATION_IDS[name]
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _error_statuses(operation: dict[str, Any], security: list[Any] | None) -> list[int]:
    """The error statuses ``operation`` can answer (see the module docstring)."""
    declared = {int(s) for s in operation.get("responses", {}) if s.isdigit() and int(s) >= 400}
    declared.discard(422)  # FastAPI's own, for any parameter: derived below
    if security:
        declared |= {401, 429, 503}
        if all(any(requirement.values()) for requirement in security):
            declared.add(403)  # every way in needs a scope (not /metrics: a key is optional)
    parameters = operation.get("parameters", [])
    if parameters or "requestBody" in operation:
        declared.add(422)
    if "requestBody" in operation:
        declared.add(413)
    if any(p.get("in") == "path" for p in parameters):
        declared.add(404)
    if parameters:
        declared.add(414)  # values can make the URL longer than the server reads
    return sorted(declared)


def _problems(operation: dict[str, Any]) -> None:
    """Every error answer of ``operation`` as a problem document with its schema."""
    responses = operation.setdefault("responses", {})
    for status in _error_statuses(operation, operation.get("security")):
        described = responses.get(str(status), {}).get("description")
        if described in (None, "Validation Error", "Error"):
            described = None
        responses[str(status)] = problem_response_doc(status, described)


def _components(doc: dict[str, Any]) -> None:
    """The problem schema in the components, FastAPI's unused validation-error schemas out."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemPublic.model_json_schema(ref_template=_REF)
    schemas.update(problem.pop("$defs", {}))
    schemas["ProblemPublic"] = problem
    text = repr(doc["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in text:
            schemas.pop(name, None)
    doc["components"]["securitySchemes"] = {
        SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <api-key>`; a key belongs to one tenant and "
            "holds scopes (events, catalog, customers, recommend, configure, admin). The scope "
            "an operation needs is listed in its security requirement.",
        }
    }


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document (built once, then kept as FastAPI does)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    seen: set[str] = set()
    for route in api_routes(app.routes):
        if not route.include_in_schema:
            continue
        scope = route_scope(route)
        for method in sorted(route.methods or ()):
            operation = doc["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            if "security" not in operation and scope is not None:
                operation["security"] = [{SCHEME: [scope] if scope else []}]
            op_id = operation_id(route)
            if op_id in seen or not re.match(r"^[a-z][A-Za-z]*$", op_id):
                raise ValueError(f"operation id {op_id!r} of {route.path_format}: not unique")
            seen.add(op_id)
            operation["operationId"] = op_id
            _problems(operation)
    _components(doc)
    app.openapi_schema = doc
    return doc
