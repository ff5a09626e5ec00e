"""``atelier demo load``: the demo tenant (catalog, customers, a year of events)."""

from __future__ import annotations

import argparse

from cli.common import json_argument, print_json, with_store
from demo.load import demo_model, load_demo
from settings import Settings
from store.base import Store


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="the demo tenant")
    dsub = demo.add_subparsers(dest="demo_command", required=True, metavar="ACTION")
    load = dsub.add_parser("load", help="load the demo shop into the store (once)")
    load.add_argument("--tenant", default=None, help="tenant to load (default: the demo tenant)")
    load.add_argument(
        "--customers", type=int, default=None, help="how many customers (default: the demo size)"
    )
    load.add_argument("--seed", type=int, default=None, help="random seed of the generated shop")
    json_argument(load)
    load.set_defaults(handler=with_store(load_command))


def load_command(args: argparse.Namespace, store: Store) -> int:
    settings = Settings()
    tenant = args.tenant or settings.demo_tenant
    loaded = load_demo(
        store,
        tenant,
        seed=args.seed if args.seed is not None else settings.demo_seed,
        n_customers=args.customers or settings.demo_customers,
    )
    version = demo_model(store, tenant, settings.models_dir)
    if args.json:
        print_json({"tenant": tenant, "loaded": loaded, "published_model": version})
        return 0
    print(f"demo tenant '{tenant}': " + ("loaded" if loaded else "already has data, left as is"))
    if version is not None:
        print(f"trained and published the demo model {version}")
    return 0
