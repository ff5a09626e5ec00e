"""/v1/configurator and saved configurations over HTTP, on both backends.

The reference family ``original-spin`` is the fixture whose answers are known by construction:
227 waist/hip modules x 25 inseams = 5,675 fits; a skinny leg needs a stretch fabric; the
cheapest completion is rigid 12 oz, rinse, standard delivery.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.main import create_app
from api.schemas.configurator import (
    ConfigurationList,
    ConfigurationPublic,
    ConfigurePublic,
    ProductList,
    ProductPublic,
    VariantDecoded,
)
from configurator import get_configurator, reference_families
from configurator.codes import pack
from configurator.secret import SECRET_NAME, CodeKey
from core.errors import Unavailable
from settings import Settings
from store.base import Store
from tests.api.conftest import KeyMaker

SPIN = "/v1/configurator/products/original-spin"
CONFIGURE = f"{SPIN}/configure"

#: Every non-size attribute fixed to an option that every size allows (bootcut clears any hip).
ANY_SIZE = {
    "fit": "regular",
    "rise": "mid",
    "leg_opening": "bootcut",
    "fabric": "rigid-12oz",
    "wash": "rinse",
    "thread_colour": "gold",
    "buttons": "silver-tack",
    "embroidery": "none",
    "packaging": "recycled-mailer",
    "delivery": "standard",
    "invoice": "pdf",
}
COMPLETE = {**ANY_SIZE, "waist_hip": "W32-H40", "inseam": "L32"}

MUG: dict[str, Any] = {
    "id": "mug",
    "name": "Custom mug",
    "base_price": 5,
    "attributes": [
        {"name": "colour", "options": [{"value": "red"}, {"value": "blue", "price_delta": 1}]},
        {"name": "size", "options": [{"value": "small"}, {"value": "large", "price_delta": 2}]},
    ],
    "rules": [
        {
            "id": "no-large-blue",
            "type": "excludes",
            "if": {"colour": "blue"},
            "then": {"size": "large"},
            "message": "Blue glaze is not fired in the large size",
        }
    ],
}


def configure(client: TestClient, h: dict[str, str], url: str = CONFIGURE, **body: Any) -> Any:
    r = client.post(url, json=body, headers=h)
    assert r.status_code == 200, r.text
    ConfigurePublic.model_validate(r.json())  # the documented schema matches the answer
    return r.json()


def options(answer: dict[str, Any], attribute: str) -> dict[str, dict[str, Any]]:
    return {o["value"]: o for o in answer["options"][attribute]}


def loc(r: Any) -> list[Any]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()["errors"][0]["loc"]


# -- products -------------------------------------------------------------------------------
def test_products_list_and_describe_show_the_5675_fits(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")
    listed = client.get("/v1/configurator/products", headers=h)
    assert listed.status_code == 200
    products = {p.product_id: p for p in ProductList.model_validate(listed.json()).products}
    assert set(products) == {"original-spin", "logistics-bundle"}
    assert products["original-spin"].source == "reference"
    assert products["original-spin"].variant_count > 5675

    r = client.get(SPIN, headers=h)
    assert r.status_code == 200
    spin = ProductPublic.model_validate(r.json())
    attrs = {a.name: a for a in spin.attributes}
    assert len(attrs["waist_hip"].options) == 227 and len(attrs["inseam"].options) == 25
    assert spin.variant_count == products["original-spin"].variant_count
    selvedge = next(o for o in attrs["fabric"].options if o.value == "selvedge-14oz")
    assert (selvedge.price_delta, selvedge.lead_time_days) == (45.0, 10)
    rush = next(o for o in attrs["delivery"].options if o.value == "rush")
    assert (rush.price_delta, rush.extra_days) == (20.0, 1)
    assert not next(o for o in attrs["buttons"].options if o.value == "antique-brass").available
    assert {m.name for m in spin.measurements} == {"waist", "hip", "inseam", "rise"}
    assert "stretch-for-skinny" in {rule.id for rule in spin.rules}

    # Every waist/hip module with every inseam is a valid fit once the rest allows any size.
    fits = configure(client, h, selections=ANY_SIZE)
    assert fits["remaining_variants"] == 227 * 25 == 5675
    assert all(o["valid"] for o in fits["options"]["waist_hip"] + fits["options"]["inseam"])

    assert client.get("/v1/configurator/products/nope", headers=h).status_code == 404
    assert (
        client.post("/v1/configurator/products/nope/configure", json={}, headers=h).status_code
        == 404
    )


# -- configure ------------------------------------------------------------------------------
def test_partial_selections_mark_options_with_reasons(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")
    everything = configure(client, h)["remaining_variants"]
    got = configure(client, h, selections={"leg_opening": "skinny"})
    assert got["complete"] is False and got["variant"] is None and got["conflicts"] == []
    assert 0 < got["remaining_variants"] < everything
    fabric = options(got, "fabric")
    assert fabric["stretch-11oz"]["valid"] and fabric["comfort-stretch-10oz"]["valid"]
    rigid = fabric["rigid-12oz"]
    assert rigid["valid"] is False and rigid["rules"] == ["stretch-for-skinny"]
    assert rigid["excluded_by"] == {"leg_opening": "skinny"}
    assert "stretch fabric" in rigid["reason"]
    # The selected attribute's own options stay open (the customer may switch).
    assert options(got, "leg_opening")["straight"]["valid"]
    suggested = got["suggested"]
    assert suggested["selections"]["leg_opening"] == "skinny"
    assert suggested["selections"]["fabric"] in {"stretch-11oz", "comfort-stretch-10oz"}


def test_measurements_choose_the_fit(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")
    got = configure(client, h, measurements={"waist": 32, "hip": 40, "inseam": 32})
    assert got["fit"]["waist_hip"]["matches"][0]["value"] == "W32-H40"
    assert got["fit"]["inseam"]["matches"][0]["value"] == "L32"
    valid_sizes = {o["value"] for o in got["options"]["waist_hip"] if o["valid"]}
    assert valid_sizes == {"W32-H40"}
    assert got["suggested"]["selections"]["waist_hip"] == "W32-H40"
    assert got["suggested"]["selections"]["inseam"] == "L32"


def test_contradictory_selections_answer_conflicts(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")
    got = configure(client, h, selections={"leg_opening": "skinny", "fabric": "rigid-12oz"})
    assert got["complete"] is False and len(got["conflicts"]) == 1
    conflict = got["conflicts"][0]
    assert conflict["rules"] == ["stretch-for-skinny"]
    dropped = {conflict["attribute"]: conflict["value"], **conflict["conflicts_with"]}
    assert dropped == {"leg_opening": "skinny", "fabric": "rigid-12oz"}
    assert got["remaining_variants"] > 0 and got["suggested"] is not None


def test_unknown_fields_answer_422_naming_them(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")

    def post(body: dict[str, Any]) -> Any:
        return client.post(CONFIGURE, json=body, headers=h)

    assert loc(post({"selections": {"fitt": "slim"}})) == ["body", "selections", "fitt"]
    assert loc(post({"selections": {"fit": "baggy"}})) == ["body", "selections", "fit"]
    assert loc(post({"selections": {"fit": 3}})) == ["body", "selections", "fit"]
    assert loc(post({"measurements": {"chest": 40}})) == ["body", "measurements", "chest"]
    assert loc(post({"measurements": {"waist": 500}})) == ["body", "measurements", "waist"]
    assert loc(post({"preferences": {"wash": "acid"}})) == ["body", "preferences", "wash"]
    assert loc(post({"selection": {}})) == ["body", "selection"]
    assert loc(post({"selections": {"embroidery_text": "<script>"}})) == [
        "body",
        "selections",
        "embroidery_text",
    ]


def test_complete_variant_and_code_round_trip(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")
    selections = {**COMPLETE, "embroidery": "cuff", "embroidery_text": "J.D."}
    got = configure(client, h, selections=selections)
    assert got["complete"] is True and got["remaining_variants"] == 1
    variant = got["variant"]
    assert variant["selections"] == selections
    # base 98 + rinse 3 + embroidery text 8 + 4 chars * 0.5 = 111
    assert variant["price"] == 111.0

    r = client.get(f"/v1/configurator/variants/{variant['code']}", headers=h)
    assert r.status_code == 200
    decoded = VariantDecoded.model_validate(r.json())
    assert decoded.selections == selections and decoded.complete
    assert (decoded.product_id, decoded.version) == ("original-spin", 1)
    assert decoded.price == decoded.price_breakdown.total == variant["price"]
    assert decoded.price_breakdown.texts[0].amount == 10.0
    assert decoded.lead_time_days == decoded.lead_time.total_days == variant["lead_time_days"]
    # assembly 3 + slowest module (rinse 0) + cuff embroidery 2 + standard delivery 4
    assert decoded.lead_time_days == 9


def test_forged_code_422_and_unknown_404(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")
    code = configure(client, h, selections=COMPLETE)["variant"]["code"]
    head, body = code.rsplit(".", 1)
    forged = f"{head}.{body[:-1]}{'A' if body[-1] != 'A' else 'B'}"
    assert loc(client.get(f"/v1/configurator/variants/{forged}", headers=h)) == ["path", "code"]
    assert client.get("/v1/configurator/variants/not-a-code", headers=h).status_code == 422
    assert client.get(f"/v1/configurator/variants/nope.1.{body}", headers=h).status_code == 404
    r = client.get(f"/v1/configurator/variants/original-spin.7.{body}", headers=h)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


# -- saved configurations -------------------------------------------------------------------
def test_save_list_and_reorder_by_code(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")
    url = "/v1/customers/c1/configurations"
    spec = {
        "product_id": "original-spin",
        "selections": COMPLETE,
        "measurements": {"waist": 32, "hip": 40},
        "label": "work jeans",
    }
    r = client.post(url, json=spec, headers=h)
    assert r.status_code == 201, r.text
    saved = ConfigurationPublic.model_validate(r.json())
    assert saved.selections == COMPLETE and saved.measurements == {"waist": 32, "hip": 40}
    assert (saved.product_id, saved.version, saved.label) == ("original-spin", 1, "work jeans")
    assert saved.price == 101.0 and saved.code and saved.reorder_of is None

    # Reorder in one call: the code alone; measurements and label come from the saved spec.
    r = client.post(url, json={"code": saved.code}, headers=h)
    assert r.status_code == 201, r.text
    again = ConfigurationPublic.model_validate(r.json())
    assert again.code == saved.code and again.configuration_id != saved.configuration_id
    assert again.measurements == saved.measurements and again.label == "work jeans"
    assert again.reorder_of == saved.code

    listed = ConfigurationList.model_validate(client.get(url, headers=h).json())
    assert [c.configuration_id for c in listed.configurations] == [
        saved.configuration_id,
        again.configuration_id,
    ]
    assert client.get("/v1/customers/nobody/configurations", headers=h).status_code == 404


def test_saving_requires_a_complete_valid_variant(client: TestClient, auth: KeyMaker) -> None:
    h = auth(scopes="configure")
    url = "/v1/customers/c1/configurations"

    def post(body: dict[str, Any]) -> Any:
        return client.post(url, json=body, headers=h)

    partial = {k: v for k, v in COMPLETE.items() if k not in ("fabric", "inseam")}
    r = post({"product_id": "original-spin", "selections": partial})
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {
        ("body", "selections", "fabric"),
        ("body", "selections", "inseam"),
    }
    clash = {**COMPLETE, "leg_opening": "skinny"}  # skinny needs stretch, fabric is rigid
    assert loc(post({"product_id": "original-spin", "selections": clash}))[:2] == [
        "body",
        "selections",
    ]
    no_text = {**COMPLETE, "embroidery": "cuff"}  # the embroidered text is required
    assert loc(post({"product_id": "original-spin", "selections": no_text})) == [
        "body",
        "selections",
        "embroidery_text",
    ]
    bad_measure = {"product_id": "original-spin", "selections": COMPLETE, "measurements": {"x": 1}}
    assert loc(post(bad_measure)) == ["body", "measurements", "x"]
    assert loc(post({"product_id": "nope", "selections": COMPLETE})) == ["body", "product_id"]
    assert loc(post({"selections": COMPLETE})) == ["body", "product_id"]  # the one missing
    assert loc(post({"code": "garbage"})) == ["body", "code"]
    assert client.get(url, headers=h).status_code == 404  # nothing was saved


def test_saved_configuration_is_a_configure_event(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    h = auth()
    spec = {"product_id": "original-spin", "selections": COMPLETE}
    saved = client.post("/v1/customers/c1/configurations", json=spec, headers=h).json()
    export = client.get("/v1/customers/c1/export", headers=h).json()
    (event,) = export["events"]
    assert event["type"] == "configure" and event["item_id"] is None
    assert event["event_id"] == f"configuration:{saved['configuration_id']}"
    assert event["context"] == {
        "product_id": "original-spin",
        "version": 1,
        "code": saved["code"],
        "configuration_id": saved["configuration_id"],
    }
    assert [c["code"] for c in export["configurations"]] == [saved["code"]]


# -- learned preferences --------------------------------------------------------------------
def test_history_personalises_the_suggestion_with_consent(
    client: TestClient, auth: KeyMaker
) -> None:
    h = auth()
    anonymous = configure(client, h)["suggested"]["selections"]
    assert anonymous["fabric"] == "rigid-12oz"  # the cheapest completion
    mine = {
        **COMPLETE,
        "fabric": "selvedge-14oz",
        "wash": "stone",
        "delivery": "express",
        "waist_hip": "W34-H42",
        "inseam": "L33",
    }
    spec = {"product_id": "original-spin", "selections": mine}
    for customer in ("fan", "private"):
        r = client.post(f"/v1/customers/{customer}/configurations", json=spec, headers=h)
        assert r.status_code == 201, r.text

    got = configure(client, h, customer_id="fan")
    assert got["suggested"]["selections"] == mine  # the customer's own spec comes back
    personal = got["personalization"]
    assert personal["status"] == "applied" and personal["learned"]["wash"] == {"stone": 1.0}
    assert personal["sources"] == {"configurations": 1, "configure_events": 0, "purchases": 0}
    # Explicit selections and preferences still win over what was learned.
    got = configure(client, h, selections={"wash": "rinse"}, customer_id="fan")
    assert got["suggested"]["selections"]["wash"] == "rinse"
    got = configure(client, h, preferences={"fabric": "organic-12oz"}, customer_id="fan")
    assert got["suggested"]["selections"]["fabric"] == "organic-12oz"

    client.put("/v1/customers/private", json={"consent": {"personalization": False}}, headers=h)
    got = configure(client, h, customer_id="private")
    assert got["personalization"]["status"] == "no_consent"
    assert got["personalization"]["learned"] == {}
    assert got["suggested"]["selections"] == anonymous

    got = configure(client, h, customer_id="stranger")
    assert got["personalization"]["status"] == "no_history"
    assert got["suggested"]["selections"] == anonymous


def test_purchases_and_configure_events_teach_preferences(
    client: TestClient, auth: KeyMaker
) -> None:
    h = auth()
    client.put("/v1/items/jeans-black", json={"attributes": {"wash": "black"}}, headers=h)
    client.put("/v1/items/belt", json={"attributes": {"wash": "not-an-option"}}, headers=h)
    events = [
        {"event_id": "p1", "customer_id": "c2", "item_id": "jeans-black", "type": "purchase"},
        {"event_id": "p2", "customer_id": "c2", "item_id": "belt", "type": "purchase"},
    ]
    assert client.post("/v1/events", json={"events": events}, headers=h).status_code == 202
    got = configure(client, h, customer_id="c2")
    assert got["personalization"]["learned"] == {"wash": {"black": 1.0}}
    assert got["personalization"]["sources"]["purchases"] == 1
    assert got["suggested"]["selections"]["wash"] == "black"

    # A configured variant recorded by a storefront as a plain configure event counts too.
    code = configure(client, h, selections={**COMPLETE, "delivery": "rush"})["variant"]["code"]
    ev = {"event_id": "cfg1", "customer_id": "c3", "type": "configure", "context": {"code": code}}
    client.post("/v1/events", json={"events": [ev]}, headers=h)
    got = configure(client, h, customer_id="c3")
    assert got["personalization"]["sources"]["configure_events"] == 1
    assert got["suggested"]["selections"]["delivery"] == "rush"


# -- tenant families --------------------------------------------------------------------------
def test_admin_loads_a_family_then_configures_it(client: TestClient, auth: KeyMaker) -> None:
    admin, user = auth(scopes="admin"), auth(scopes="configure")
    url = "/v1/configurator/products/mug"
    r = client.put(url, json=MUG, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1 and r.json()["variant_count"] == 3
    listed = client.get("/v1/configurator/products", headers=user).json()["products"]
    assert {p["product_id"]: p["source"] for p in listed}["mug"] == "tenant"

    got = configure(client, user, url=f"{url}/configure", selections={"colour": "blue"})
    assert options(got, "size")["large"]["rules"] == ["no-large-blue"]
    assert got["suggested"]["code"].startswith("mug.1.")
    v1_code = got["suggested"]["code"]

    green = {
        **MUG,
        "attributes": [
            *MUG["attributes"],
            {"name": "lid", "options": [{"value": "no"}, {"value": "yes"}]},
        ],
    }
    r = client.put(url, json=green, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["variant_count"] == 6
    got = configure(client, user, url=f"{url}/configure")
    assert got["suggested"]["code"].startswith("mug.2.") and "lid" in got["options"]
    old = client.get(f"/v1/configurator/variants/{v1_code}", headers=user)
    assert old.status_code == 200 and old.json()["version"] == 1  # issued codes keep decoding

    # Another tenant never sees it.
    other = auth("other", "configure")
    assert client.get(url, headers=other).status_code == 404
    assert client.get(f"/v1/configurator/variants/{v1_code}", headers=other).status_code == 404


def test_invalid_families_are_refused(client: TestClient, auth: KeyMaker) -> None:
    admin = auth(scopes="admin")
    url = "/v1/configurator/products/mug"
    bad_rule = {
        **MUG,
        "rules": [{"type": "requires", "if": {"colour": "green"}, "then": {"size": "small"}}],
    }
    assert loc(client.put(url, json=bad_rule, headers=admin)) == [
        "body",
        "rules",
        0,
        "if",
        "colour",
    ]
    assert loc(client.put("/v1/configurator/products/cup", json=MUG, headers=admin)) == [
        "body",
        "id",
    ]
    assert loc(client.put(url, json={"id": "mug", "name": "Mug"}, headers=admin)) == [
        "body",
        "attributes",
    ]
    impossible = {
        **MUG,
        "rules": [
            {"type": "requires", "if": {"colour": "red"}, "then": {"colour": "blue"}},
            {"type": "requires", "if": {"colour": "blue"}, "then": {"colour": "red"}},
        ],
    }
    assert loc(client.put(url, json=impossible, headers=admin)) == ["body", "rules"]
    assert client.get(url, headers=auth(scopes="configure")).status_code == 404


def test_a_tenant_family_overrides_the_reference_one(client: TestClient, auth: KeyMaker) -> None:
    h = auth("shop")
    reference_code = configure(client, h, selections=COMPLETE)["variant"]["code"]
    own = {**MUG, "id": "original-spin", "name": "Our jeans"}
    assert client.put(SPIN, json=own, headers=h).status_code == 201
    product = client.get(SPIN, headers=h).json()
    assert (product["name"], product["source"], product["version"]) == ("Our jeans", "tenant", 1)
    assert "colour" in configure(client, h)["options"]
    # Codes issued by the reference family before the override still decode (same id and v1).
    r = client.get(f"/v1/configurator/variants/{reference_code}", headers=h)
    assert r.status_code == 200 and r.json()["selections"] == COMPLETE
    # Other tenants keep the reference family.
    assert client.get(SPIN, headers=auth("other")).json()["source"] == "reference"


# -- access ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/configurator/products", None),
        ("GET", SPIN, None),
        ("POST", CONFIGURE, {}),
        ("GET", "/v1/configurator/variants/original-spin.1.AAAAAAAA", None),
        ("POST", "/v1/customers/c1/configurations", {"code": "original-spin.1.AAAAAAAA"}),
        ("GET", "/v1/customers/c1/configurations", None),
        ("PUT", "/v1/configurator/products/mug", MUG),
    ],
)
def test_scopes(
    client: TestClient, auth: KeyMaker, method: str, path: str, body: dict[str, Any] | None
) -> None:
    assert client.request(method, path, json=body).status_code == 401
    wrong = auth(scopes="admin" if method != "PUT" else "configure")
    r = client.request(method, path, json=body, headers=wrong)
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_configurations_are_per_tenant_and_erased_with_the_customer(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    h, other = auth("shop"), auth("other")
    spec = {"product_id": "original-spin", "selections": COMPLETE}
    client.post("/v1/customers/c1/configurations", json=spec, headers=h)
    assert client.get("/v1/customers/c1/configurations", headers=other).status_code == 404
    got = configure(client, other, customer_id="c1")
    assert got["personalization"]["status"] == "no_history"  # nothing leaks across tenants

    assert client.delete("/v1/customers/c1", headers=h).status_code == 204
    assert client.get("/v1/customers/c1/configurations", headers=h).status_code == 404
    assert store.list_configurations("shop", "c1") == []
    assert store.customer_events("shop", "c1") == []
    assert configure(client, h, customer_id="c1")["personalization"]["status"] == "no_history"


def test_every_worker_serves_a_newly_loaded_version(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    """Two apps over one store stand for two workers: a load through one is served by the
    other on its next request, although it had compiled the previous version."""
    h = auth()
    url = "/v1/configurator/products/mug"
    assert client.put(url, json=MUG, headers=h).status_code == 201
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as worker:
        assert configure(worker, h, url=f"{url}/configure")["suggested"]["code"].startswith(
            "mug.1."
        )
        lid = {"name": "lid", "options": [{"value": "no"}, {"value": "yes"}]}
        assert (
            client.put(
                url, json={**MUG, "attributes": [*MUG["attributes"], lid]}, headers=h
            ).status_code
            == 200
        )
        got = configure(worker, h, url=f"{url}/configure")
        assert got["suggested"]["code"].startswith("mug.2.") and "lid" in got["options"]
        assert worker.get(url, headers=h).json()["version"] == 2


def test_the_deployment_secret_keys_the_codes(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    h = auth()
    code = configure(client, h, selections=COMPLETE)["variant"]["code"]
    keyed = settings.model_copy(update={"configurator_secret": SecretStr("s3cret")})
    with TestClient(create_app(keyed, store), raise_server_exceptions=False) as other:
        assert other.get(f"/v1/configurator/variants/{code}", headers=h).status_code == 422
        own = configure(other, h, selections=COMPLETE)["variant"]["code"]
        assert own != code
        assert other.get(f"/v1/configurator/variants/{own}", headers=h).status_code == 200


def test_without_a_deployment_secret_codes_are_keyed_by_the_stores_own(
    client: TestClient, auth: KeyMaker, store: Store, settings: Settings
) -> None:
    h = auth()
    code = configure(client, h, selections=COMPLETE)["variant"]["code"]
    made = store.ensure_secret(SECRET_NAME, "unused")
    assert made != "unused" and len(made) >= 32  # the first code made it, once
    # Not the empty key: a code computed from the family file alone is refused.
    family = reference_families()["original-spin"]
    cf = get_configurator(family).compiled
    idx = [cf.opt_index[a][COMPLETE[name]] for a, name in enumerate(cf.names)]
    unkeyed = f"{family.id}.{family.version}.{pack(cf.key, cf.sizes, idx, [None] * len(cf.texts))}"
    assert unkeyed != code
    assert client.get(f"/v1/configurator/variants/{unkeyed}", headers=h).status_code == 422
    # Another worker on the same store reads the same secret: the code decodes there.
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as worker:
        assert worker.get(f"/v1/configurator/variants/{code}", headers=h).status_code == 200


def test_the_secret_is_read_on_first_use_not_when_the_app_is_built(
    auth: KeyMaker, store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = auth()
    down = True

    def ensure_secret(name: str, candidate: str) -> str:
        if down:
            raise Unavailable("the store cannot answer now: test outage")
        return type(store).ensure_secret(store, name, candidate)

    monkeypatch.setattr(store, "ensure_secret", ensure_secret)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as c:
        assert c.get("/healthz").status_code == 200  # built and started with no secret yet
        r = c.post(CONFIGURE, json={"selections": COMPLETE}, headers=h)
        assert r.status_code == 503 and "Retry-After" in r.headers, r.text
        down = False  # the store is back: the next request resolves the key
        code = configure(c, h, selections=COMPLETE)["variant"]["code"]
        assert c.get(f"/v1/configurator/variants/{code}", headers=h).status_code == 200


# -- bad input answers 4xx naming the field, never 500 ------------------------------------------
def _forged(store: Store, selections: dict[str, str], texts: dict[str, str]) -> str:
    """A logistics-bundle code with a valid tag: keyed by the secret the test app made and
    kept in its store (it has no deployment secret), as only an insider could."""
    key = CodeKey(store)()
    cf = get_configurator(reference_families()["logistics-bundle"], secret=key).compiled
    idx = [cf.opt_index[a][selections[name]] for a, name in enumerate(cf.names)]
    body = pack(cf.key, cf.sizes, idx, [texts.get(t.name) for t in cf.family.text_options])
    return f"{cf.family.id}.{cf.family.version}.{body}"


def test_bad_codes_and_preferences_answer_4xx_naming_the_field(
    client: TestClient, auth: KeyMaker, store: Store
) -> None:
    h = auth(scopes="configure")
    bundle = "/v1/configurator/products/logistics-bundle/configure"
    r = client.post(CONFIGURE, json={"preferences": {"colour": []}}, headers=h)
    assert loc(r) == ["body", "preferences", "colour"]

    freight = configure(client, h, url=bundle)["suggested"]["selections"]
    freight = {k: v for k, v in freight.items() if k != "reference"}
    good = _forged(store, freight, {"reference": "PO-77"})
    assert client.get(f"/v1/configurator/variants/{good}", headers=h).status_code == 200
    head, body = good.rsplit(".", 1)
    spare = [  # the same payload and tag with an unused bit set: a second code, refused
        f"{head}.{body[:-1]}{c}"
        for c in "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
        if c != body[-1]
        and "canonical"
        in client.get(f"/v1/configurator/variants/{head}.{body[:-1]}{c}", headers=h).text
    ]
    bad = [
        "logistics-bundle.%C2%B9.0000004B6YC68",  # a non-ASCII digit as the version
        _forged(store, {**freight, "cargo": "hazardous", "transport": "air"}, {}),
        _forged(store, freight, {"reference": "po<77>"}),
        _forged(store, freight, {"reference": "P" * 21}),
        *spare[:1],
    ]
    assert len(bad) == 5
    url = "/v1/customers/c1/configurations"
    for code in bad:
        assert loc(client.get(f"/v1/configurator/variants/{code}", headers=h)) == ["path", "code"]
        raw = code.replace("%C2%B9", "\u00b9")
        assert loc(client.post(url, json={"code": raw}, headers=h)) == ["body", "code"]
    assert client.get(url, headers=h).status_code == 404  # nothing was saved


def test_the_reference_families_are_compiled_at_start_not_in_the_first_request(
    store: Store, settings: Settings
) -> None:
    app = create_app(settings, store)
    with TestClient(app):
        registry = app.state.configurator.registry
        deadline = time.monotonic() + 60
        while registry._reference is None:
            assert time.monotonic() < deadline, "the reference families were not compiled"
            time.sleep(0.05)
        assert "original-spin" in registry._reference
