"""The deployment recipe: ``compose.yaml`` parses with the Docker Compose client (no engine is
needed for ``config``) and says what the README says; the Dockerfile has its two stages, runs as
a user that is not root, checks its health and installs every package at the tested versions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def compose_command() -> list[str]:
    """``docker compose`` (the plugin) where it is installed, else Debian's ``docker-compose``."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    if os.environ.get("ATELIER_REQUIRE_COMPOSE"):
        pytest.fail("no Docker Compose client (.ci/run installs Debian's docker-compose)")
    pytest.skip("no Docker Compose client: apt-get install docker-compose (.ci/run does)")


def compose_config(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose_command(), "-f", str(folder / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
        env={**os.environ, **env},
    )


def parsed(folder: Path = ROOT, **env: str) -> dict[str, Any]:
    done = compose_config(folder, **env)
    assert done.returncode == 0, done.stderr
    doc: dict[str, Any] = yaml.safe_load(done.stdout)
    return doc


def test_compose_runs_two_workers_on_a_durable_redis_with_the_secret_and_health_checks() -> None:
    doc = parsed()
    redis, app = doc["services"]["redis"], doc["services"]["atelier"]
    command = redis["command"]
    command = command.split() if isinstance(command, str) else command
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "everysec"  # the documented default
    assert "redis-cli" in " ".join(redis["healthcheck"]["test"])
    env = app["environment"]
    assert env["ATELIER_WORKERS"] == "2" and env["ATELIER_STORE"] == "redis"
    assert env["ATELIER_REDIS_URL"] == "redis://redis:6379/0"
    assert app["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(app["healthcheck"]["test"])
    # Models live in the data folder, on a named volume.
    mounts = [  # short syntax (Compose v1 adds ":rw") or long syntax (the plugin)
        v.removesuffix(":rw") if isinstance(v, str) else f"{v['source']}:{v['target']}"
        for v in app["volumes"]
    ]
    assert f"atelier-data:{env['ATELIER_DATA_DIR']}" in mounts and "atelier-data" in doc["volumes"]
    # The configurator secret is a Docker secret under the file name the settings read.
    (secret,) = app["secrets"]
    assert secret["target"] == "atelier_configurator_secret"
    assert doc["secrets"][secret["source"]]["file"].endswith("deploy/configurator_secret")
    assert "deploy/configurator_secret" in (ROOT / ".gitignore").read_text()
    # The stricter fsync is one variable away.
    always = parsed(REDIS_APPENDFSYNC="always")["services"]["redis"]["command"]
    assert "always" in (always if isinstance(always, list) else always.split())


def test_compose_config_refuses_a_broken_file(tmp_path: Path) -> None:
    """The client validates, so the test above can fail: a misspelt key is refused."""
    text = (ROOT / "compose.yaml").read_text().replace("healthcheck:", "healthchek:", 1)
    (tmp_path / "compose.yaml").write_text(text)
    done = compose_config(tmp_path)
    assert done.returncode != 0 and "healthchek" in done.stdout + done.stderr


def dockerfile_stages() -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(stage name, [(INSTRUCTION, arguments)])]`` of the Dockerfile (continuations joined,
    comments dropped)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            name = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
            stages.append((name, []))
        assert stages, f"an instruction before FROM: {line}"
        stages[-1][1].append((word.upper(), rest.strip()))
    return stages


def test_the_dockerfile_builds_in_two_stages_and_runs_unprivileged_with_a_health_check() -> None:
    stages = dockerfile_stages()
    assert [name for name, _ in stages] == ["build", "runtime"]
    build, runtime = dict(stages)["build"], dict(stages)["runtime"]
    # The build stage installs the project at the tested versions; the runtime copies its venv.
    runs = " ".join(arg for op, arg in build if op == "RUN")
    assert "-c constraints.txt" in runs and "build-essential" in runs
    copied = {arg.split()[0] for op, arg in build if op == "COPY"}
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {p.rstrip("*") for p in find["packages"]["find"]["include"]}
    assert packages <= copied, f"packages the image would miss: {packages - copied}"
    assert any(op == "COPY" and arg.startswith("--from=build") for op, arg in runtime)
    assert not any("build-essential" in arg for _, arg in runtime)  # no compilers at run time
    users = [arg for op, arg in runtime if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert any(op == "RUN" and "useradd" in arg and users[-1] in arg for op, arg in runtime)
    (health,) = [arg for op, arg in runtime if op == "HEALTHCHECK"]
    assert "CMD" in health and "/healthz" in health and "--interval=" in health
    ops = [op for op, _ in runtime]
    assert ops.index("USER") < ops.index("ENTRYPOINT") and "EXPOSE" in ops


def test_the_configurator_secret_is_read_from_a_docker_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ATELIER_CONFIGURATOR_SECRET", raising=False)
    (tmp_path / "atelier_configurator_secret").write_text("from-the-file")
    settings = Settings(_secrets_dir=tmp_path)  # type: ignore[call-arg]
    assert settings.configurator_secret == SecretStr("from-the-file")
    monkeypatch.setenv("ATELIER_CONFIGURATOR_SECRET", "from-the-environment")
    override = Settings(_secrets_dir=tmp_path)  # type: ignore[call-arg]
    assert override.configurator_secret.get_secret_value() == "from-the-environment"
