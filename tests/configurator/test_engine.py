"""Engine behaviour on the reference families: rules, reasons, conflicts, fit, price, lead time,
codes, input errors, learned preferences and the SAT fallback."""

from __future__ import annotations

import pytest

from configurator import (
    Configurator,
    ConfigureResult,
    InputError,
    InvalidVariant,
    MalformedCode,
    OptionState,
    UnknownCode,
    learn_preferences,
    load_family,
    parse_code,
    reference_families,
)
from configurator.constraints import brute_force, lower

FULL = {
    "waist_hip": "W32-H40",
    "inseam": "L32",
    "fit": "regular",
    "rise": "mid",
    "leg_opening": "straight",
    "fabric": "rigid-14oz",
    "wash": "stone",
    "thread_colour": "gold",
    "buttons": "silver-tack",
    "embroidery": "none",
    "packaging": "standard-box",
    "delivery": "standard",
    "invoice": "pdf",
}


def _state(res: ConfigureResult, attr: str, value: str) -> OptionState:
    return next(s for s in res.options[attr] if s.value == value)


def test_all_5675_fits_are_offered_and_counted(jeans: Configurator) -> None:
    res = jeans.configure({})
    assert sum(s.valid for s in res.options["waist_hip"]) == 227
    assert sum(s.valid for s in res.options["inseam"]) == 25
    # every fit is buildable with some fabric, and the count sums over fits exactly
    fits = jeans.backend.count({}) // 1
    assert fits == jeans.variant_count == res.remaining_variants
    per_fit = jeans.configure({"fabric": "rigid-12oz", "waist_hip": "W32-H40", "inseam": "L32"})
    assert per_fit.remaining_variants > 0


def test_skinny_requires_stretch_with_a_reason(jeans: Configurator) -> None:
    res = jeans.configure({"leg_opening": "skinny"})
    rigid = _state(res, "fabric", "rigid-14oz")
    assert not rigid.valid
    assert rigid.rules == ["stretch-for-skinny"]
    assert rigid.excluded_by == {"leg_opening": "skinny"}
    assert "stretch" in (rigid.reason or "")
    assert _state(res, "fabric", "stretch-11oz").valid


def test_selvedge_not_made_in_large_fits(jeans: Configurator) -> None:
    res = jeans.configure({"fabric": "selvedge-14oz"})
    big = _state(res, "waist_hip", "W44-H50")
    assert not big.valid and big.rules == ["selvedge-loom-width"]
    assert _state(res, "waist_hip", "W40-H46").valid
    assert not _state(res, "inseam", "L37").valid


def test_out_of_stock_and_backordered_modules(jeans: Configurator) -> None:
    res = jeans.configure({})
    brass = _state(res, "buttons", "antique-brass")
    assert not brass.valid and "out of stock" in (brass.reason or "")
    assert _state(res, "buttons", "gunmetal").valid
    base = jeans.lead_time(FULL)
    late = jeans.lead_time({**FULL, "buttons": "gunmetal"})
    assert late["backorders"] == [{"attribute": "buttons", "value": "gunmetal", "days": 7}]
    assert late["total_days"] == base["total_days"] + 7 - 2  # 7 days restock replaces stone's 2


def test_rush_delivery_with_embroidery_is_a_conflict_not_an_error(jeans: Configurator) -> None:
    res = jeans.configure({"embroidery": "cuff", "delivery": "rush"})
    assert [c.attribute for c in res.conflicts] == ["embroidery"]  # the latest choice wins
    assert res.conflicts[0].rules == ["no-rush-embroidery"]
    assert res.conflicts[0].conflicts_with == {"delivery": "rush"}
    assert not res.complete and res.remaining_variants > 0
    assert res.suggested is not None and res.suggested.selections["delivery"] == "rush"
    # with a text too, dropping one pick (the delivery) beats dropping two
    res = jeans.configure({"embroidery": "cuff", "embroidery_text": "JD", "delivery": "rush"})
    assert [c.attribute for c in res.conflicts] == ["delivery"]


def test_embroidery_text_is_validated_priced_and_required(jeans: Configurator) -> None:
    with pytest.raises(InputError) as err:
        jeans.configure({"embroidery": "cuff", "embroidery_text": "<script>"})
    assert err.value.loc == ("selections", "embroidery_text")
    with pytest.raises(InputError, match="at most 12"):
        jeans.configure({"embroidery_text": "A" * 13})
    sel = {**FULL, "embroidery": "waistband"}
    res = jeans.configure(sel)
    assert not res.complete and res.missing == ["embroidery_text"]
    res = jeans.configure({**sel, "embroidery_text": "Ana"})
    assert res.complete and res.variant is not None
    price = jeans.price({**sel, "embroidery_text": "Ana"})
    assert price["texts"] == [{"name": "embroidery_text", "amount": 9.5}]
    # giving the text rules out "no embroidery"
    res = jeans.configure({"embroidery_text": "Ana"})
    assert not _state(res, "embroidery", "none").valid


def test_complete_variant_price_lead_time_and_code(jeans: Configurator) -> None:
    res = jeans.configure(FULL)
    assert res.complete and res.remaining_variants == 1 and not res.conflicts
    v = res.variant
    assert v is not None
    # 98 base + 8 rigid-14oz + 5 stone + 2 box
    assert v.price == 113.0
    lt = jeans.lead_time(FULL)
    assert lt["slowest_module"] == {"attribute": "wash", "value": "stone", "days": 2}
    assert v.lead_time_days == 3 + 2 + 4 == lt["total_days"]
    assert jeans.decode(v.code).selections == FULL
    assert jeans.encode(dict(reversed(FULL.items()))) == v.code
    assert res.suggested is not None and res.suggested.code == v.code


def test_forged_and_unknown_codes(jeans: Configurator, logistics: Configurator) -> None:
    code = jeans.encode(FULL)
    fam, version, body = parse_code(code)
    assert (fam, version) == ("original-spin", 1)
    flipped = body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:]
    with pytest.raises(MalformedCode):
        jeans.decode(f"{fam}.{version}.{flipped}")
    with pytest.raises(MalformedCode):
        jeans.decode("not-a-code")
    with pytest.raises(UnknownCode):
        logistics.decode(code)
    with pytest.raises(UnknownCode):
        jeans.decode(f"{fam}.2.{body}")
    other_secret = Configurator(reference_families()["original-spin"], secret=b"k")
    with pytest.raises(MalformedCode):
        other_secret.decode(code)


def test_encode_refuses_incomplete_or_invalid_variants(jeans: Configurator) -> None:
    with pytest.raises(InvalidVariant):
        jeans.encode({"fit": "slim"})
    with pytest.raises(InvalidVariant) as err:
        jeans.encode({**FULL, "leg_opening": "skinny"})
    assert err.value.loc[0] == "selections"


def test_unknown_names_are_input_errors(jeans: Configurator) -> None:
    with pytest.raises(InputError) as err:
        jeans.configure({"colour": "red"})
    assert err.value.loc == ("selections", "colour")
    with pytest.raises(InputError) as err:
        jeans.configure({"fabric": "silk"})
    assert err.value.errors == [{"loc": ["selections", "fabric"], "msg": err.value.msg}]
    with pytest.raises(InputError):
        jeans.configure({}, measurements={"chest": 40})
    with pytest.raises(InputError, match="implausible"):
        jeans.configure({}, measurements={"waist": 500})
    with pytest.raises(InputError):
        jeans.configure({}, preferences={"wash": "bleach"})


def test_fit_from_measurements(jeans: Configurator) -> None:
    fit = jeans.fit({"waist": 33.2, "hip": 41.1, "inseam": 32.4, "rise": 10.2})
    wh = fit["waist_hip"]
    assert wh.matches[0].value == "W33-H41"
    assert wh.matches[0].deltas == {"waist": 0.2, "hip": 0.1}
    assert fit["inseam"].matches[0].value == "L32.5"
    assert fit["rise"].matches[0].value == "mid"
    # a hip far from every module of that waist: a clear answer with the nearest and deltas
    none = jeans.fit({"waist": 30, "hip": 50})["waist_hip"]
    assert none.matches == [] and none.nearest[0].value == "W33-H47"
    assert none.nearest[0].deltas == {"waist": -3.0, "hip": 3.0}
    assert "no waist_hip module fits" in none.message
    # measurements restrict sizes in configure and drive the suggestion
    res = jeans.configure({}, measurements={"waist": 33.2, "hip": 41.1, "inseam": 32.4})
    assert res.suggested is not None
    assert res.suggested.selections["waist_hip"] == "W33-H41"
    assert not _state(res, "waist_hip", "W40-H46").valid
    # a fabric not made in that fit answers with a conflict naming the measurement
    big = jeans.configure({"fabric": "selvedge-14oz"}, measurements={"waist": 46, "hip": 54})
    assert big.conflicts and big.conflicts[0].source == "measurements"
    assert big.conflicts[0].rules == ["selvedge-loom-width"]


def test_explicit_then_learned_preferences_rank_the_suggestion(jeans: Configurator) -> None:
    plain = jeans.configure({})
    assert plain.suggested is not None
    learned = learn_preferences(
        [{"wash": "black", "thread_colour": "white"}, {"wash": "black"}, {"wash": "light"}]
    )
    assert learned["wash"] == pytest.approx({"black": 2 / 3, "light": 1 / 3})
    res = jeans.configure({}, learned=learned)
    assert res.suggested is not None
    assert res.suggested.selections["wash"] == "black"
    assert res.suggested.selections["thread_colour"] == "white"
    # explicit preference beats learned; an impossible one is skipped for the next in the list
    res = jeans.configure(
        {"fabric": "stretch-11oz"}, preferences={"wash": ["raw", "light"]}, learned=learned
    )
    assert res.suggested is not None and res.suggested.selections["wash"] == "light"
    # cheapest completion without preferences: no option delta is forced
    assert plain.suggested.price == 98 + 3  # rinse is cheaper than raw, which needs rigid-14oz


def test_sat_fallback_gives_the_same_answers(jeans: Configurator) -> None:
    with pytest.warns(RuntimeWarning, match="SAT"):
        sat = Configurator(reference_families()["original-spin"], budget_s=0.0)
    assert sat.backend.kind == "sat"
    assert sat.variant_count == jeans.variant_count
    for sel in (
        {},
        {"leg_opening": "skinny", "wash": "black"},
        {"fabric": "selvedge-14oz", "delivery": "rush", "embroidery": "cuff"},
    ):
        a, b = jeans.configure(sel), sat.configure(sel)
        assert a.remaining_variants == b.remaining_variants
        assert [c.attribute for c in a.conflicts] == [c.attribute for c in b.conflicts]
        for attr in a.options:
            assert [s.valid for s in a.options[attr]] == [s.valid for s in b.options[attr]]
            assert [s.rules for s in a.options[attr]] == [s.rules for s in b.options[attr]]


def test_logistics_bundle_is_generic(logistics: Configurator) -> None:
    problem = lower(logistics.family)
    assert logistics.variant_count == len(brute_force(problem))
    res = logistics.configure({"cargo": "chilled"}, measurements={"weight_kg": 800})
    assert res.suggested is not None
    s = res.suggested.selections
    assert s["load_class"] == "pallet" and s["handling"] == "cold-box"
    assert s["transport"] in {"road-dedicated", "air"}
    assert not _state(res, "transport", "rail").valid
    assert _state(res, "delivery_window", "night").reason == "delivery_window=night is out of stock"
    lt = logistics.lead_time(s)
    assert lt["backorders"] == [{"attribute": "handling", "value": "cold-box", "days": 5}]
    spec = logistics.spec({**s, "reference": "PO-77"}, {"weight_kg": 800})
    assert logistics.decode(spec["code"]).selections == {**s, "reference": "PO-77"}


def test_describe_lists_options_with_effects(jeans: Configurator) -> None:
    d = jeans.describe()
    assert d["variant_count"] == jeans.variant_count
    attrs = {a["name"]: a for a in d["attributes"]}
    assert len(attrs["waist_hip"]["options"]) == 227
    brass = next(o for o in attrs["buttons"]["options"] if o["value"] == "antique-brass")
    assert brass["in_stock"] is False and brass["available"] is False
    assert {m["name"] for m in d["measurements"]} == {"waist", "hip", "inseam", "rise"}
    assert d["text_options"][0]["enabled_by"] == {"embroidery": {"not": ["none"]}}


def test_results_serialise_to_json(jeans: Configurator) -> None:
    import json

    res = jeans.configure({"leg_opening": "skinny"}, measurements={"waist": 32, "hip": 40})
    body = json.loads(json.dumps(res.to_dict()))
    assert set(body) >= {
        "complete",
        "variant",
        "options",
        "remaining_variants",
        "conflicts",
        "suggested",
    }
    rigid = next(o for o in body["options"]["fabric"] if o["value"] == "rigid-12oz")
    assert rigid["valid"] is False and rigid["reason"]


def test_chained_rules_are_explained_together() -> None:
    fam = load_family(
        {
            "id": "chain",
            "name": "c",
            "attributes": [
                {"name": "x", "options": [{"value": "a"}, {"value": "b"}]},
                {"name": "y", "options": [{"value": "a"}, {"value": "b"}]},
                {"name": "z", "options": [{"value": "a"}, {"value": "b"}]},
            ],
            "rules": [
                {"id": "xy", "type": "requires", "if": {"x": "a"}, "then": {"y": "a"}},
                {"id": "yz", "type": "requires", "if": {"y": "a"}, "then": {"z": "a"}},
            ],
        }
    )
    res = Configurator(fam).configure({"x": "a"})
    zb = next(s for s in res.options["z"] if s.value == "b")
    assert not zb.valid and sorted(zb.rules) == ["xy", "yz"]
    assert zb.excluded_by == {"x": "a"}


def test_encode_and_spec_refuse_a_missing_required_text(jeans: Configurator) -> None:
    sel = {**FULL, "embroidery": "cuff"}  # enables the required embroidery_text
    for call in (jeans.encode, jeans.spec):
        with pytest.raises(InvalidVariant) as err:
            call(sel)
        assert err.value.loc == ("selections", "embroidery_text")
    code = jeans.encode({**sel, "embroidery_text": "JD"})
    assert jeans.decode(code).complete
    assert jeans.decode(jeans.encode(FULL)).complete  # "none" enables no text


def test_every_missing_text_is_listed() -> None:
    text = {"max_length": 5, "allowed_chars": "AB", "enabled_by": {"x": "on"}}
    cfg = Configurator(
        load_family(
            {
                "id": "t",
                "name": "t",
                "attributes": [{"name": "x", "options": [{"value": "on"}, {"value": "off"}]}],
                "text_options": [
                    {"name": "front", **text},
                    {"name": "back", **text},
                    {"name": "note", **text, "required": False},
                ],
            }
        )
    )
    with pytest.raises(InvalidVariant) as err:
        cfg.encode({"x": "on"})
    assert [e["loc"] for e in err.value.errors] == [
        ["selections", "front"],
        ["selections", "back"],
    ]
    with pytest.raises(InvalidVariant) as err:
        cfg.encode({"x": "on", "back": "AB"})
    assert err.value.errors == [{"loc": ["selections", "front"], "msg": err.value.msg}]
    assert cfg.decode(cfg.encode({"x": "on", "front": "A", "back": "B"})).complete
    assert cfg.decode(cfg.encode({"x": "off"})).complete
