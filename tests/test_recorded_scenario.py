"""The recorded scenario (``load/scenario.py``) answers exactly as recorded.

Every router's answers to a fixed list of requests are kept in ``tests/scenario/recorded.jsonl``.
A change that alters what a client sees shows up here first; when the change is intended
(a documented contract change), record again with
``.venv/bin/python load/scenario.py --keep-agreeing --out tests/scenario/recorded.jsonl`` (lines
whose answers still agree stay as they were) and let the diff of that file show the change in
review.

Answers are compared as JSON values: everything exactly, except that numbers computed by a fitted
model (Gamma-Gamma's optimiser, for one) may differ in their last digits between builds of scipy
and BLAS, so floats agree to a relative 1e-6; recommended items' scores, which the dense models
compute in float32 with the CPU's own kernels, to 0.5% of the answer's top score (the items and
their order exactly). A fitted model's ``params`` beside its
``log_likelihood`` are compared through the likelihood: where the likelihood is flat (BG/NBD's
``b`` once ``a`` reaches 0 is not identified) builds land on different points of equal fit, and
every answer computed from the fit is still compared in full.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORDED = ROOT / "tests" / "scenario" / "recorded.jsonl"


def _scenario() -> object:
    spec = importlib.util.spec_from_file_location("scenario", ROOT / "load" / "scenario.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_same = _scenario().same_answer  # type: ignore[attr-defined]


def test_floats_agree_to_a_relative_millionth_and_nothing_else_is_loose() -> None:
    assert _same({"clv": 2926.319500056124}, {"clv": 2926.319504494175})
    assert not _same({"clv": 2926.3195}, {"clv": 2926.33})
    assert not _same({"n": 1}, {"n": True}) and not _same({"n": 1.0}, {"n": "1.0"})
    assert not _same({"a": [1, 2]}, {"a": [1, 2, 3]}) and not _same({"a": 1}, {"b": 1})
    fit = {"params": {"a": 1e-14, "b": 9.83}, "log_likelihood": -1467.6392885008}
    assert _same(fit, {"params": {"a": 7e-15, "b": 1.89}, "log_likelihood": -1467.6392885008})
    assert not _same(fit, {"params": {"a": 1e-14, "b": 9.83}, "log_likelihood": -1467.7})
    assert not _same(fit, {"params": {"a": 1e-14}, "log_likelihood": -1467.6392885008})
    assert not _same({"params": {"a": 1.0}}, {"params": {"a": 2.0}})  # no likelihood: exact


def test_item_scores_agree_to_the_float32_solve_and_only_item_scores() -> None:
    items = {"items": [{"item_id": "a", "score": 1.5135}, {"item_id": "b", "score": -0.0005}]}
    moved = {"items": [{"item_id": "a", "score": 1.5119}, {"item_id": "b", "score": 0.0010}]}
    assert _same(items, moved)
    assert not _same(items, {"items": [{"item_id": "a", "score": 1.5}, moved["items"][1]]})
    assert not _same(items, {"items": [{"item_id": "c", "score": 1.5135}, items["items"][1]]})
    assert not _same(items, {"items": [moved["items"][1], moved["items"][0]]})  # order exact
    assert not _same(items, {"items": items["items"][:1]})
    assert not _same({"clv": 1.5135}, {"clv": 1.5119})  # any other float: a millionth


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, Path]:
    """One run of the scenario: the module, its answers and its operator logs."""
    scenario = _scenario()
    tmp = tmp_path_factory.mktemp("scenario")
    scenario.LOG = tmp / "logs.jsonl"  # type: ignore[attr-defined]
    scenario.record(tmp / "answers.jsonl")  # type: ignore[attr-defined]
    return scenario, tmp / "answers.jsonl", tmp / "logs.jsonl"


@pytest.mark.slow
def test_every_answer_is_the_recorded_one(run: tuple[Any, Path, Path]) -> None:
    _, out, _ = run
    count = len(out.read_text().splitlines())
    assert count >= 300
    expected = RECORDED.read_text().splitlines()
    actual = out.read_text().splitlines()
    differences = [
        (json.loads(e)["request"], e, a)
        for e, a in zip(expected, actual, strict=False)
        if e != a and not _same(json.loads(e), json.loads(a))
    ]
    assert len(actual) == len(expected), f"{len(actual)} answers, {len(expected)} recorded"
    assert not differences, "first difference: {}\nrecorded: {}\nnow:      {}".format(
        *differences[0]
    )


@pytest.mark.slow
def test_the_logs_show_every_request_and_no_secret_or_personal_value(
    run: tuple[Any, Path, Path],
) -> None:
    scenario, out, logs = run
    text = logs.read_text()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    requests = [d for d in lines if d["logger"] == "atelier.access"]
    assert len(requests) >= len(out.read_text().splitlines()), len(requests)
    odd = [d for d in requests if not d["request_id"] or d["route"][0] not in "/u"]
    assert not odd, odd[:3]  # every line has a request id and a template (or "unmatched")
    assert {d["tenant"] for d in requests} >= {"scenario", "elsewhere"}
    jobs = [d.get("job") for d in lines if d["logger"] == "atelier.jobs"]
    assert "train" in jobs and "insights" in jobs, jobs
    private = [*scenario.KEYS.values(), *scenario.secrets_sent()]
    assert len(private) > 100
    found = [p for p in private if p in text]
    assert not found, f"the logs show {found[:5]}"


def test_a_re_recording_keeps_the_lines_that_still_agree() -> None:
    keep = _scenario().keep_agreeing  # type: ignore[attr-defined]
    before = ['{"a": 1.0000001}', '{"b": 1}']
    assert keep(before, ['{"a": 1.0}', '{"b": 2}', '{"c": 3}']) == [
        '{"a": 1.0000001}',
        '{"b": 2}',
        '{"c": 3}',
    ]
