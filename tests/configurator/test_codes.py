"""Variant codes: one code per variant, and no code decodes to what the family does not allow,
even when its tag checks (with the default empty secret anyone can compute tags)."""

from __future__ import annotations

import pytest

from configurator import Configurator, InputError, MalformedCode, parse_code
from configurator.codes import _CROCKFORD, pack, unpack


def _forge(cfg: Configurator, selections: dict[str, str], texts: dict[str, str]) -> str:
    """A code with a valid tag for any assignment, as anyone knowing the family can make."""
    cf = cfg.compiled
    idx = [cf.opt_index[a][selections[name]] for a, name in enumerate(cf.names)]
    body = pack(cf.key, cf.sizes, idx, [texts.get(t.name) for t in cf.family.text_options])
    assert unpack(cf.key, cf.sizes, len(cf.family.text_options), body)[0] == idx  # tag checks
    return f"{cf.family.id}.{cf.family.version}.{body}"


def _complete(cfg: Configurator, **fixed: str) -> dict[str, str]:
    suggested = cfg.configure(fixed).suggested
    assert suggested is not None
    return {k: v for k, v in suggested.selections.items() if k in cfg.compiled.index}


def test_a_rule_breaking_variant_is_refused_although_its_tag_checks(
    logistics: Configurator,
) -> None:
    sel = {**_complete(logistics, cargo="hazardous"), "transport": "air"}
    with pytest.raises(MalformedCode, match="Hazardous goods are not flown"):
        logistics.decode(_forge(logistics, sel, {}))
    with pytest.raises(InputError):  # and the engine would never have issued it
        logistics.encode(sel)


def test_a_forged_text_outside_its_characters_or_length_is_refused(
    logistics: Configurator, jeans: Configurator
) -> None:
    sel = _complete(logistics)
    assert logistics.decode(_forge(logistics, sel, {"reference": "PO-77"})).complete
    for text in ("po<77>", "P" * 21):
        with pytest.raises(MalformedCode, match="reference"):
            logistics.decode(_forge(logistics, sel, {"reference": text}))
    # a text its options do not enable (no embroidery, yet an embroidered text)
    plain = _complete(jeans, embroidery="none")
    with pytest.raises(MalformedCode, match="embroidery_text"):
        jeans.decode(_forge(jeans, plain, {"embroidery_text": "JD"}))


def test_each_variant_has_exactly_one_code(logistics: Configurator) -> None:
    code = logistics.encode(_complete(logistics))
    head, body = code.rsplit(".", 1)
    same_payload = []
    for c in _CROCKFORD:  # every last character: the unused bits make some decode alike
        try:
            logistics.decode(f"{head}.{body[:-1]}{c}")
        except MalformedCode as exc:
            if "canonical" in str(exc):
                same_payload.append(c)
        else:
            assert c == body[-1]
    assert same_payload  # the payload has spare bits, and setting them is refused
    assert logistics.decode(code.lower()).code == code  # Crockford's reading aliases stay


@pytest.mark.parametrize(
    "code",
    [
        "logistics-bundle.\u00b9.0000004B6YC68",  # str.isdigit() accepts superscript one
        "logistics-bundle.\u0661.0000004B6YC68",  # Arabic-Indic one
        "logistics-bundle.01.0000004B6YC68",  # a second spelling of version 1
        "logistics-bundle.-1.0000004B6YC68",
    ],
)
def test_versions_are_plain_ascii_numbers(logistics: Configurator, code: str) -> None:
    with pytest.raises(MalformedCode, match="not a variant code"):
        parse_code(code)
    with pytest.raises(MalformedCode):
        logistics.decode(code)


def test_preferences_name_known_attributes_even_when_empty(jeans: Configurator) -> None:
    with pytest.raises(InputError) as err:
        jeans.configure({}, preferences={"colour": []})
    assert err.value.loc == ("preferences", "colour")
    assert jeans.configure({}, preferences={"wash": []}).suggested is not None
