"""The ``atelier`` command: serve, keys, import, demo, and each area's offline jobs.

Every area adds its sub-commands through ``register(subparsers)`` in ``cli/<area>.py``; a
command's handler receives the parsed arguments (and, for ``func`` handlers, an open store).
Only the module of the command being run is imported: ``atelier --help`` and ``atelier keys``
never load the web app, the configurator or the models.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from core.errors import DomainError, MissingExtra

log = logging.getLogger("atelier.jobs")

#: Each command, the module whose ``register`` adds it, and its line in ``atelier --help``
#: (the module's own ``help=``: a test keeps both the same).
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("cli.serve", "run the HTTP service"),
    "keys": ("cli.keys", "create, list and revoke API keys"),
    "import": ("cli.imports", "bulk import"),
    "demo": ("cli.demo", "the demo tenant"),
    "publish": ("cli.models", "register a trained version (and optionally activate it)"),
    "report": (
        "cli.models",
        "CTR, conversions, revenue per version or arm, with confidence intervals",
    ),
    "train": ("cli.train", "train a recommendation model version"),
    "retrain": ("cli.train", "train, compare with the active version, publish, promote if better"),
    "evaluate": ("cli.train", "offline evaluation of model families"),
    "insights": (
        "cli.insights",
        "fit customer-value models (BG/NBD, Gamma-Gamma) and store every customer's insights",
    ),
    "configurator": ("cli.configurator", "product families of the configurator"),
}


def package_version() -> str:
    """The installed ``atelier`` distribution's version."""
    try:
        return version("atelier")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _command_of(argv: Sequence[str]) -> str | None:
    """The sub-command named in ``argv`` (the first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(argv: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser, with the full options of the command named in ``argv`` only.

    The other commands are listed by name and help line, without importing their modules.
    """
    parser = argparse.ArgumentParser(
        prog="atelier", description="Atelier one-to-one marketing engine."
    )
    parser.add_argument("--version", action="version", version=f"atelier {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = _command_of(argv)
    if chosen in COMMANDS:
        importlib.import_module(COMMANDS[chosen][0]).register(sub)
    for name, (_, help_line) in COMMANDS.items():
        if name not in sub.choices:  # not the chosen command's module: listed, never loaded
            sub.add_parser(name, help=help_line, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    if not hasattr(args, "handler") and hasattr(args, "func"):
        from cli.common import with_store

        # Areas whose handlers take ``(args, store)`` get the configured store.
        args.handler = with_store(args.func)
    _configure_logging()
    start = time.monotonic()
    try:
        code = int(args.handler(args) or 0)
    except KeyboardInterrupt:
        code = 130
    except FileNotFoundError as exc:
        # Which file, and why: the readers raise FileNotFoundError(path) without a message.
        print(f"atelier: error: {exc.filename or exc}: no such file", file=sys.stderr)
        code = 2
    except (ValueError, DomainError, MissingExtra) as exc:
        print(f"atelier: error: {exc}", file=sys.stderr)
        code = 2
    if args.command != "serve":  # the server logs its own requests; every other command is a job
        action = next((getattr(args, a) for a in vars(args) if a.endswith("_command")), None)
        log.info(
            "job finished" if code == 0 else "job failed",
            extra={
                "job": " ".join(str(p) for p in (args.command, action) if p),
                "exit_code": code,
                "duration_s": round(time.monotonic() - start, 3),
                "tenant": getattr(args, "tenant", None),
            },
        )
    return code


def _configure_logging() -> None:
    """Operator logs of the command as the server writes them (``ATELIER_LOG_*``)."""
    from core.logs import configure_logging
    from settings import Settings

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)


if __name__ == "__main__":
    sys.exit(main())
