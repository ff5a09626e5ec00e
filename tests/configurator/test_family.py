"""Family definitions: the reference families' shape and validation errors naming the field."""

from __future__ import annotations

import time
from typing import Any

import pytest

from configurator import FamilyError, family, load_family, reference_families
from configurator.family import FAMILIES_DIR


def _mini(**extra: Any) -> dict[str, Any]:
    return {
        "id": "m",
        "name": "m",
        "attributes": [
            {"name": "colour", "options": [{"value": "red"}, {"value": "blue"}]},
            {
                "name": "size",
                "options": [
                    {"value": "s", "properties": {"cm": 10}},
                    {"value": "l", "properties": {"cm": 20}},
                ],
            },
        ],
        **extra,
    }


def test_original_spin_has_227_waist_hip_and_25_inseam_modules() -> None:
    fam = reference_families()["original-spin"]
    waist_hip = fam.attribute("waist_hip").values
    inseam = fam.attribute("inseam").values
    assert len(waist_hip) == 227
    assert len(inseam) == 25
    assert len(waist_hip) * len(inseam) == 5675
    assert len({o.value for o in waist_hip}) == 227
    assert all(set(o.measure) == {"waist", "hip"} and o.tolerance["hip"] > 0 for o in waist_hip)
    assert [o.measure["inseam"] for o in inseam][:3] == [26.0, 26.5, 27.0]
    offer = {a.name for a in fam.attributes if a.group == "offer"}
    assert offer == {"packaging", "delivery", "invoice"}


def test_reference_families_include_a_non_apparel_one() -> None:
    fams = reference_families()
    assert set(fams) == {"original-spin", "logistics-bundle"}
    assert fams["logistics-bundle"].kind == "service"


def test_load_family_reads_paths_yaml_text_and_mappings() -> None:
    path = FAMILIES_DIR / "logistics-bundle.yaml"
    a = load_family(path)
    b = load_family(path.read_text())
    c = load_family(a.to_json())
    assert a == b == c


@pytest.mark.parametrize(
    "change, loc_part",
    [
        (
            {"rules": [{"type": "requires", "if": {"colour": "green"}, "then": {"size": "s"}}]},
            "rules[0].if.colour",
        ),
        (
            {"rules": [{"type": "requires", "if": {"shape": "x"}, "then": {"size": "s"}}]},
            "rules[0].if.shape",
        ),
        (
            {
                "rules": [
                    {
                        "type": "bounds",
                        "terms": [{"attribute": "colour", "property": "cm"}],
                        "max": 3,
                    }
                ]
            },
            "rules[0].terms[0].property",
        ),
        (
            {
                "rules": [
                    {
                        "type": "combinations",
                        "attributes": ["colour", "size"],
                        "allowed": [["red", "xl"]],
                    }
                ]
            },
            "rules[0].allowed[0][1]",
        ),
        (
            {"measurements": [{"name": "h", "min": 1, "max": 2, "attribute": "size"}]},
            "measurements[0]",
        ),
    ],
)
def test_validation_errors_name_the_offending_field(change: dict[str, Any], loc_part: str) -> None:
    with pytest.raises(FamilyError) as err:
        load_family(_mini(**change))
    assert loc_part in str(err.value)


def test_structural_errors_carry_a_loc() -> None:
    spec = _mini()
    spec["attributes"][0]["options"][0]["price_delta"] = "cheap"
    with pytest.raises(FamilyError) as err:
        load_family(spec)
    assert err.value.loc[:2] == ("attributes", 0)


def test_duplicate_options_and_unknown_keys_are_rejected() -> None:
    spec = _mini()
    spec["attributes"][0]["options"].append({"value": "red"})
    with pytest.raises(FamilyError, match="duplicate option"):
        load_family(spec)
    with pytest.raises(FamilyError):
        load_family(_mini(colour_scheme="x"))


@pytest.mark.parametrize(
    "change, loc",
    [
        (
            {"rules": [{"type": "requires", "if": {"colour": "green"}, "then": {"size": "s"}}]},
            ("rules", 0, "if", "colour"),
        ),
        (
            {"rules": [{"type": "excludes", "if": {"colour": "red"}, "then": {"shape": "s"}}]},
            ("rules", 0, "then", "shape"),
        ),
        (
            {
                "rules": [
                    {
                        "type": "bounds",
                        "terms": [{"attribute": "colour", "property": "cm"}],
                        "max": 3,
                    }
                ]
            },
            ("rules", 0, "terms", 0, "property"),
        ),
        (
            {"rules": [{"type": "bounds", "terms": [{"attribute": "size", "property": "cm"}]}]},
            ("rules", 0),
        ),
        (
            {
                "rules": [
                    {
                        "type": "combinations",
                        "attributes": ["colour", "size"],
                        "allowed": [["red", "xl"]],
                    }
                ]
            },
            ("rules", 0, "allowed", 0, 1),
        ),
        (
            {
                "rules": [
                    {
                        "type": "combinations",
                        "attributes": ["colour", "size"],
                        "forbidden": [["red", "s"], ["red"]],
                    }
                ]
            },
            ("rules", 0, "forbidden", 1),
        ),
        (
            {
                "rules": [
                    {
                        "type": "conditional",
                        "when": {"colour": "red"},
                        "then": [
                            {"type": "requires", "if": {"size": "s"}, "then": {"colour": "pink"}}
                        ],
                    }
                ]
            },
            ("rules", 0, "then", 0, "then", "colour"),
        ),
        (
            {
                "rules": [
                    {"id": "a", "type": "requires", "if": {"colour": "red"}, "then": {"size": "s"}},
                    {"id": "a", "type": "requires", "if": {"colour": "red"}, "then": {"size": "s"}},
                ]
            },
            ("rules", 1, "id"),
        ),
        (
            {"measurements": [{"name": "h", "min": 1, "max": 2, "attribute": "size"}]},
            ("measurements", 0),
        ),
        (
            {"measurements": [{"name": "h", "min": 1, "max": 2, "attribute": "height"}]},
            ("measurements", 0, "attribute"),
        ),
        (
            {"text_options": [{"name": "size", "max_length": 3, "allowed_chars": "A"}]},
            ("text_options", 0, "name"),
        ),
        (
            {
                "text_options": [
                    {
                        "name": "t",
                        "max_length": 3,
                        "allowed_chars": "A",
                        "enabled_by": {"colour": {"not": ["teal"]}},
                    }
                ]
            },
            ("text_options", 0, "enabled_by", "colour"),
        ),
        # structural errors: pydantic's union member names are not part of the path
        (
            {"rules": [{"type": "requires", "if": {"colour": 3}, "then": {"size": "s"}}]},
            ("rules", 0, "if", "colour"),
        ),
        ({"rules": [{"type": "requires", "if": {"colour": "red"}}]}, ("rules", 0, "then")),
    ],
)
def test_every_family_error_carries_its_loc(
    change: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(FamilyError) as err:
        load_family(_mini(**change))
    assert err.value.loc == loc
    assert not err.value.msg.startswith(loc[0])  # the path is in loc, not in the message


def test_a_loc_survives_names_with_dots() -> None:
    spec = _mini(rules=[{"type": "requires", "if": {"col.our": "red"}, "then": {"size": "s"}}])
    spec["attributes"][0]["name"] = "col.our"
    load_family(spec)
    spec["rules"][0]["if"] = {"col.our": "r.ed"}
    with pytest.raises(FamilyError) as err:
        load_family(spec)
    assert err.value.loc == ("rules", 0, "if", "col.our")
    assert str(err.value).startswith("rules[0].if.col.our: ")


def _sized(rows: list[dict[str, Any]], code: str = "W{w:g}") -> dict[str, Any]:
    return _mini(
        attributes=[
            {"name": "w", "size_table": {"code": code, "tolerance": {"w": 1}, "rows": rows}}
        ]
    )


def _axis(lo: float, hi: float, step: float = 1.0) -> dict[str, Any]:
    return {"range": [lo, hi], "step": step}


@pytest.mark.parametrize(
    "spec, loc",
    [
        # a few hundred bytes asking for 10^12 options: refused before anything is expanded
        (
            _sized([{"axes": {"w": _axis(0, 1e12)}}]),
            ("attributes", 0, "size_table", "rows", 0, "axes", "w"),
        ),
        (
            _sized([{"axes": {"w": _axis(0, 1e6), "h": {"offset_from": "w", **_axis(0, 1e6)}}}]),
            ("attributes", 0, "size_table", "rows", 0, "axes", "w"),
        ),
        (
            _sized([{"axes": {"w": _axis(0, 999), "h": {"offset_from": "w", **_axis(0, 999)}}}]),
            ("attributes", 0, "size_table", "rows", 0, "axes"),
        ),
        (
            _sized([{"axes": {"w": _axis(0, 1e300, 1e-300)}}]),
            ("attributes", 0, "size_table", "rows", 0, "axes", "w"),
        ),
        (
            _sized([{"axes": {"w": _axis(k * 1000, k * 1000 + 999)}} for k in range(3)]),
            ("attributes", 0, "size_table", "rows", 2),
        ),
        (
            _sized([{"axes": {"w": _axis(0, float("inf"))}}]),
            ("attributes", 0, "size_table", "rows", 0, "axes", "w", "range"),
        ),
        (
            _sized([{"axes": {"w": _axis(0, 3)}}], code="W{w:>999999999}"),
            ("attributes", 0, "size_table", "code"),
        ),
        (
            _sized([{"axes": {"w": _axis(0, 3)}}], code="W{w.real}"),
            ("attributes", 0, "size_table", "code"),
        ),
        (
            _sized([{"axes": {"w": _axis(0, 3)}}], code="W{w:g}-H{h:g}"),
            ("attributes", 0, "size_table", "rows", 0, "axes"),
        ),
        (
            _sized(
                [{"axes": {"w": _axis(0, 3), "h": {"offset_from": "x", **_axis(0, 1)}}}],
                code="W{w:g}-H{h:g}",
            ),
            ("attributes", 0, "size_table", "rows", 0, "axes", "h", "offset_from"),
        ),
        (
            _sized([{"axes": {"w": _axis(0, 3)}}], code="W"),
            ("attributes", 0, "size_table", "code"),
        ),  # every row gives the same option
        (
            _mini(attributes=[{"name": "a", "options": [{"value": f"o{j}"} for j in range(2001)]}]),
            ("attributes", 0, "options"),
        ),
        (
            _mini(
                attributes=[
                    {
                        "name": f"a{i}",
                        "size_table": {
                            "code": "W{w:g}",
                            "tolerance": {"w": 1},
                            "rows": [{"axes": {"w": _axis(0, 1999)}}],
                        },
                    }
                    for i in range(3)
                ]
            ),
            ("attributes", 2, "size_table"),
        ),
        (
            _mini(attributes=[{"name": f"a{i}", "options": [{"value": "x"}]} for i in range(65)]),
            ("attributes",),
        ),
        (_mini(base_price="1e999999999"), ("base_price",)),
    ],
)
def test_size_limits_are_checked_before_expanding(
    spec: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    start = time.perf_counter()
    with pytest.raises(FamilyError) as err:
        load_family(spec)
    assert err.value.loc == loc
    assert time.perf_counter() - start < 0.5  # nothing big was built


def _wide(n_attrs: int, n_opts: int, **extra: Any) -> dict[str, Any]:
    return _mini(
        attributes=[
            {
                "name": f"a{i}",
                "options": [{"value": f"o{j}", "properties": {"p": j}} for j in range(n_opts)],
            }
            for i in range(n_attrs)
        ],
        **extra,
    )


def test_rule_tables_are_capped() -> None:
    every = [f"a{i}" for i in range(5)]
    huge = {"type": "combinations", "attributes": every, "forbidden": [["o0"] * 5]}
    with pytest.raises(FamilyError, match="combinations of options") as err:
        load_family(_wide(5, 30, rules=[huge]))  # 30^5 = 24.3M cells
    assert err.value.loc == ("rules", 0)
    rows = [[f"o{j}", f"o{k}"] for j in range(30) for k in range(30)]
    many = {"type": "combinations", "attributes": ["a0", "a1"], "allowed": rows * 2}
    with pytest.raises(FamilyError) as err:
        load_family(_wide(2, 30, rules=[many]))  # 1,800 rows
    assert err.value.loc == ("rules", 0, "allowed")
    # each rule is fine alone (12 rows over 810,000 cells: ~49M filled), the two are not
    wide = {
        "type": "combinations",
        "attributes": ["a0", "a1", "a2", "a3"],
        "forbidden": [["o0", "*", "*", "*"]] * 12,
    }
    with pytest.raises(FamilyError, match="table cells") as err:
        load_family(_wide(4, 30, rules=[wide] * 2))
    assert err.value.loc == ("rules", 1)
    terms = [{"attribute": "a0", "property": "p"}] * 33
    with pytest.raises(FamilyError) as err:
        load_family(_wide(1, 3, rules=[{"type": "bounds", "terms": terms, "max": 1}]))
    assert err.value.loc == ("rules", 0, "terms")


def test_reference_families_are_well_within_the_limits() -> None:
    for fam in reference_families().values():
        sizes = [len(a.values) for a in fam.attributes]
        assert len(sizes) * 4 <= family.MAX_ATTRIBUTES
        assert max(sizes) * 4 <= family.MAX_OPTIONS_PER_ATTRIBUTE
        assert sum(sizes) * 4 <= family.MAX_TOTAL_OPTIONS
        assert len(fam.rules) * 4 <= family.MAX_RULES
