"""``atelier configurator ...``: validate, compile and load product families.

``load FILE --tenant T`` validates and compiles the family (so a broken one never reaches the
store) and hands its JSON to ``store.put_family(tenant, family_id, family_json) -> version``;
``check FILE`` does the same without a store and prints the family's figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cli.common import json_argument
from configurator import Configurator, ConfiguratorError, load_family


def _compile(path: str) -> Configurator:
    return Configurator(load_family(path))


def _summary(cfg: Configurator) -> dict[str, Any]:
    fam = cfg.family
    return {
        "product_id": fam.id,
        "name": fam.name,
        "attributes": len(fam.attributes),
        "options": sum(len(a.values) for a in fam.attributes),
        "rules": len(cfg.compiled.rule_ids),
        "variant_count": cfg.variant_count,
        "backend": cfg.backend.kind,
        "size": cfg.backend.node_count,
    }


def load_command(args: argparse.Namespace, store: Any) -> int:
    """Validate and compile ``args.file``, then store it for ``args.tenant``."""
    try:
        cfg = _compile(args.file)
    except ConfiguratorError as exc:
        print(f"atelier: invalid family {args.file}: {exc}", file=sys.stderr)
        return 2
    version = store.put_family(args.tenant, cfg.family.id, cfg.family.to_json())
    print(json.dumps({**_summary(cfg), "tenant": args.tenant, "version": version}))
    return 0


def check_command(args: argparse.Namespace) -> int:
    """Validate and compile ``args.file`` and print its figures (no store needed)."""
    try:
        cfg = _compile(args.file)
    except ConfiguratorError as exc:
        print(f"atelier: invalid family {args.file}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(_summary(cfg)))
    return 0


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("configurator", help="product families of the configurator")
    sub = parser.add_subparsers(dest="configurator_command", required=True, metavar="ACTION")
    load = sub.add_parser("load", help="validate, compile and load (or replace) a family")
    load.add_argument("file", help="family definition (YAML or JSON)")
    load.add_argument("--tenant", required=True, help="tenant that owns the family")
    json_argument(load, already=True)
    load.set_defaults(func=load_command)
    check = sub.add_parser("check", help="validate and compile a family without loading it")
    check.add_argument("file", help="family definition (YAML or JSON)")
    json_argument(check, already=True)
    check.set_defaults(handler=check_command)
    return parser
