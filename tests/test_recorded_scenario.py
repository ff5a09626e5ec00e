"""The recorded scenario (``load/scenario.py``) answers exactly as recorded.

Every router's answers to a fixed list of requests are kept in ``tests/scenario/recorded.jsonl``.
A change that alters what a client sees shows up here first; when the change is intended
(a documented contract change), record again with
``.venv/bin/python load/scenario.py --out tests/scenario/recorded.jsonl`` and let the diff of that
file show the change in review.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "scenario" / "recorded.jsonl"


def _scenario() -> object:
    spec = importlib.util.spec_from_file_location("scenario", ROOT / "load" / "scenario.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_every_answer_is_the_recorded_one(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    count = _scenario().record(out)  # type: ignore[attr-defined]
    assert count >= 300
    expected = RECORDED.read_text().splitlines()
    actual = out.read_text().splitlines()
    differences = [
        (json.loads(e)["request"], e, a) for e, a in zip(expected, actual, strict=False) if e != a
    ]
    assert len(actual) == len(expected), f"{len(actual)} answers, {len(expected)} recorded"
    assert not differences, "first difference: {}\nrecorded: {}\nnow:      {}".format(
        *differences[0]
    )
