"""Family definitions: the reference families' shape and validation errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from configurator import FamilyError, load_family, reference_families
from configurator.family import FAMILIES_DIR


def _mini(**extra: Any) -> dict[str, Any]:
    return {"id": "m", "name": "m", "attributes": [
        {"name": "colour", "options": [{"value": "red"}, {"value": "blue"}]},
        {"name": "size", "options": [{"value": "s", "properties": {"cm": 10}},
                                     {"value": "l", "properties": {"cm": 20}}]}], **extra}


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


@pytest.mark.parametrize("change, loc_part", [
    ({"rules": [{"type": "requires", "if": {"colour": "green"}, "then": {"size": "s"}}]},
     "rules[0].if.colour"),
    ({"rules": [{"type": "requires", "if": {"shape": "x"}, "then": {"size": "s"}}]},
     "rules[0].if.shape"),
    ({"rules": [{"type": "bounds", "terms": [{"attribute": "colour", "property": "cm"}],
                 "max": 3}]}, "rules[0].terms[0].property"),
    ({"rules": [{"type": "combinations", "attributes": ["colour", "size"],
                 "allowed": [["red", "xl"]]}]}, "rules[0].allowed[0][1]"),
    ({"measurements": [{"name": "h", "min": 1, "max": 2, "attribute": "size"}]},
     "measurements[0]"),
])
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
