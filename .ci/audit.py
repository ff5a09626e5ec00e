"""pip-audit of the installed dependencies, with a verdict that never passes silently.

``make audit`` runs it. pip-audit asks a vulnerability service about every installed
distribution (the project itself, installed editable, is skipped). Three outcomes:

- every known vulnerability is either absent or listed in ``.ci/audit-accepted.json`` with why
  it does not apply: exit 0, and the audited count is printed;
- a vulnerability that is not accepted: exit 1, each one named with its fixed versions;
- no service answered for the installed versions (offline, a proxy that serves only the
  package index, a service that is down): pip-audit itself then reports "No known
  vulnerabilities found" with every package skipped. This script says NOT AUDITED instead and
  exits 3, or 0 with ``--allow-unreachable`` (what CI uses, so a machine without the service is
  told, not failed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ACCEPTED = HERE / "audit-accepted.json"
SERVICES = ("pypi", "osv")
#: What pip-audit's error says when the service cannot be reached (anything else is a failure).
UNREACHABLE = ("ConnectionError", "Timeout", "resolve", "Max retries", "SSLError", "ProxyError")


def run(service: str) -> tuple[list[dict], str]:
    """pip-audit's dependency list with ``service`` (empty, and why, when it did not run)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        proc = subprocess.run(
            [
                str(Path(sys.executable).with_name("pip-audit")),
                "--skip-editable",
                "--vulnerability-service",
                service,
                "--format",
                "json",
                "--output",
                str(out),
                "--progress-spinner",
                "off",
                "--timeout",
                "20",
            ],
            capture_output=True,
            text=True,
        )
        if not out.exists() or not out.read_text().strip():
            last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
            if not any(m in proc.stderr for m in UNREACHABLE):
                raise SystemExit(f"pip-audit failed (not an outage of the service): {last}")
            return [], last[:300]
        return json.loads(out.read_text())["dependencies"], ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--allow-unreachable",
        action="store_true",
        help="exit 0 (after saying NOT AUDITED) when no vulnerability service answers",
    )
    args = parser.parse_args()
    accepted: dict[str, str] = json.loads(ACCEPTED.read_text()) if ACCEPTED.exists() else {}
    reasons = []
    for service in SERVICES:
        deps, error = run(service)
        audited = [d for d in deps if "skip_reason" not in d]
        if audited:
            break
        skipped = len(deps)
        reasons.append(f"{service}: {error or f'all {skipped} packages skipped (not found)'}")
    else:
        print(
            "pip-audit: NOT AUDITED: no vulnerability service answered for the installed "
            "versions; nothing is known about their vulnerabilities.\n  " + "\n  ".join(reasons),
            file=sys.stderr,
        )
        return 0 if args.allow_unreachable else 3
    code, lines = verdict(service, deps, accepted)
    print("\n".join(lines))
    return code


def verdict(service: str, deps: list[dict], accepted: dict[str, str]) -> tuple[int, list[str]]:
    """Exit code and report of one service's answer: 1 when a vulnerability is not accepted.

    >>> deps = [{"name": "a", "version": "1", "vulns": [{"id": "X-1", "fix_versions": ["2"]}]},
    ...         {"name": "b", "skip_reason": "Dependency not found on PyPI"}]
    >>> code, lines = verdict("pypi", deps, {})
    >>> code, lines[0]
    (1, 'a 1: X-1 (fix: 2)')
    >>> lines[1]
    'pip-audit (pypi): 1 packages audited, 1 known vulnerabilities, 1 not accepted; not audited (not on the service): b'
    >>> verdict("pypi", deps, {"X-1": "only the CLI, which we never run"})[0]
    0
    """
    audited = [d for d in deps if "skip_reason" not in d]
    skipped = [d["name"] for d in deps if "skip_reason" in d]
    found = [(d, v) for d in audited for v in d.get("vulns", [])]
    open_ones = [(d, v) for d, v in found if v["id"] not in accepted]
    lines = []
    for d, v in found:
        why = accepted.get(v["id"])
        state = f"accepted: {why}" if why else f"fix: {', '.join(v['fix_versions']) or 'none'}"
        lines.append(f"{d['name']} {d['version']}: {v['id']} ({state})")
    lines.append(
        f"pip-audit ({service}): {len(audited)} packages audited, {len(found)} known "
        f"vulnerabilities, {len(open_ones)} not accepted"
        + (f"; not audited (not on the service): {', '.join(skipped)}" if skipped else "")
    )
    return (1 if open_ones else 0), lines


if __name__ == "__main__":
    raise SystemExit(main())
