"""The ``atelier`` command itself: light to start, every command listed, a version."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from cli.main import COMMANDS, build_parser, main

#: What ``atelier --help`` and ``atelier keys list`` must never import: the web app, the
#: configurator's solvers, the recommender's compiled kernels.
HEAVY = {"fastapi", "numba", "dd", "pysat", "implicit", "configurator", "api"}
ROOT = Path(__file__).resolve().parents[2]


def imported_packages(*args: str, env: dict[str, str]) -> set[str]:
    """Top-level packages a fresh ``python -X importtime -m cli.main ARGS`` imports."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cli.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert len(lines) > 10, done.stderr  # the log was produced
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines[1:]}


@pytest.mark.parametrize("args", [("--help",), ("keys", "list")])
def test_help_and_keys_do_not_load_the_web_app(args: tuple[str, ...], tmp_path: Path) -> None:
    env = {**os.environ, "ATELIER_DATA_DIR": str(tmp_path), "ATELIER_STORE": "embedded"}
    packages = imported_packages(*args, env=env)
    assert "cli" in packages
    assert packages.isdisjoint(HEAVY), sorted(packages & HEAVY)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"atelier {version('atelier')}"


def _registered(module: str) -> dict[str, str | None]:
    """Command -> help line, as ``module.register`` adds them."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    importlib.import_module(module).register(sub)
    helps = {a.dest: a.help for a in sub._choices_actions}
    return {name: helps.get(name) for name in sub.choices}


def test_the_listing_matches_what_each_module_registers() -> None:
    """``atelier --help`` lists commands without importing them: its lines must be theirs."""
    modules = {module for module, _ in COMMANDS.values()}
    registered = {name: (m, h) for m in modules for name, h in _registered(m).items()}
    assert registered == COMMANDS


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_command_gets_its_own_options(command: str) -> None:
    parser = build_parser([command])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert sub.choices[command].add_help  # the real parser, not the listing's placeholder
    assert set(sub.choices) == set(COMMANDS)


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["frobnicate"])
    assert done.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def _leaves(
    parser: argparse.ArgumentParser, path: str
) -> list[tuple[str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        return [(path, parser)]
    return [
        leaf for s in subs for name, p in s.choices.items() for leaf in _leaves(p, f"{path} {name}")
    ]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_has_help_text(command: str) -> None:
    parser = build_parser([command])
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    silent = [
        f"{path}: {action.option_strings or action.dest}"
        for path, leaf in _leaves(sub.choices[command], command)
        for action in leaf._actions
        if not action.help and not isinstance(action, argparse._SubParsersAction)
    ]
    assert not silent, silent


def test_a_port_in_use_is_refused_before_the_banner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    monkeypatch.setenv("ATELIER_DATA_DIR", str(tmp_path))
    # Restored after the test: serve_command writes its flags to these.
    monkeypatch.setenv("ATELIER_PORT", "8000")
    monkeypatch.setenv("ATELIER_HOST", "127.0.0.1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--host", "127.0.0.1", "--port", str(port), "--demo"])
    out, err = capsys.readouterr()
    assert code != 0
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err
    assert "Atelier on" not in out and "demo" not in out  # nothing loaded, no banner
    assert not (tmp_path / "atelier.sqlite3").exists()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_takes_json(command: str) -> None:
    parser = build_parser([command])
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    without = [
        path
        for path, leaf in _leaves(sub.choices[command], command)
        if not any("--json" in a.option_strings for a in leaf._actions)
    ]
    assert not without, without


def test_the_serve_banner_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from cli.serve import DemoReady, announce
    from settings import Settings

    settings = Settings(data_dir=tmp_path, host="127.0.0.1", port=8123)
    announce(settings, DemoReady("demo", ["loaded the demo tenant 'demo'"], "atk_x"), as_json=True)
    doc = json.loads(capsys.readouterr().out)
    assert doc["url"] == "http://127.0.0.1:8123" and doc["docs"].endswith("/docs")
    assert doc["demo"]["key"] == "atk_x" and doc["demo"]["notes"]
    announce(settings, None, as_json=False)
    assert capsys.readouterr().out.startswith("Atelier on http://127.0.0.1:8123")
