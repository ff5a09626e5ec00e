"""The thin ``atelier configurator`` commands: validation before anything reaches the store."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from cli.configurator import check_command, load_command, register
from configurator.family import FAMILIES_DIR


class _Families:
    """A store stand-in that records put_family calls (the real store is the lead's)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def put_family(self, tenant: str, family_id: str, family_json: dict[str, Any]) -> int:
        self.calls.append((tenant, family_id, family_json))
        return len(self.calls)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_load_validates_compiles_and_stores(capsys: pytest.CaptureFixture[str]) -> None:
    store = _Families()
    args = _parse(
        ["configurator", "load", str(FAMILIES_DIR / "original-spin.yaml"), "--tenant", "shop"]
    )
    assert args.func(args, store) == 0
    tenant, fid, body = store.calls[0]
    assert (tenant, fid) == ("shop", "original-spin")
    assert body["attributes"][0]["size_table"]["code"] == "W{waist:g}-H{hip:g}"  # compact form
    out = json.loads(capsys.readouterr().out)
    assert out["version"] == 1 and out["variant_count"] > 5675


def test_invalid_family_never_reaches_the_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: x\nname: x\nattributes:\n  - name: a\n    options: [{value: p}]\n"
        "rules:\n  - {type: requires, if: {a: q}, then: {a: p}}\n"
    )
    store = _Families()
    assert load_command(argparse.Namespace(file=str(bad), tenant="t"), store) == 2
    assert store.calls == []
    assert "rules[0].if.a" in capsys.readouterr().err
    assert check_command(argparse.Namespace(file=str(bad))) == 2
