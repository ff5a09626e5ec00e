"""The ``atelier`` command: serve, keys, import, demo, and each area's offline jobs.

Every area adds its sub-commands through ``register(subparsers)``; a command's handler receives
the parsed arguments and an open store.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import demo, imports, keys, models, serve
from cli.common import with_store

#: Modules whose ``register(subparsers)`` adds sub-commands. Optional ones are skipped if absent.
AREAS = ("cli.train", "cli.insights", "cli.configurator")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="atelier", description="Atelier one-to-one marketing engine."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (serve, keys, imports, demo, models):
        module.register(sub)
    import importlib

    for name in AREAS:
        try:
            area = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        area.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler") and hasattr(args, "func"):
        # Areas whose handlers take ``(args, store)`` get the configured store.
        args.handler = with_store(args.func)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (ValueError, FileNotFoundError) as exc:
        print(f"atelier: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
