"""``atelier keys create|list|revoke``: tenants' API keys (only hashes are stored)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from access.keys import create_key, parse_scopes
from cli.common import json_argument, print_json, with_store
from core.records import SCOPES, ApiKey
from store.base import Store


def register(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="create, list and revoke API keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = ksub.add_parser("create", help="create a key (and its tenant if needed)")
    create.add_argument("--tenant", required=True, help="the tenant (1-64 letters, digits, _ . -)")
    create.add_argument("--scopes", required=True, help=f"comma-separated: {','.join(SCOPES)}")
    create.add_argument("--label", default=None, help="a name for people: who holds the key")
    json_argument(create)
    create.set_defaults(handler=with_store(create_command))
    lst = ksub.add_parser("list", help="list keys (never their secrets)")
    lst.add_argument("--tenant", default=None, help="only this tenant's keys (default: all)")
    json_argument(lst)
    lst.set_defaults(handler=with_store(list_command))
    revoke = ksub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id", help="the key's id, as keys list shows it (not the secret)")
    json_argument(revoke)
    revoke.set_defaults(handler=with_store(revoke_command))


def create_command(args: argparse.Namespace, store: Store) -> int:
    record, secret = create_key(store, args.tenant, parse_scopes(args.scopes), args.label)
    if args.json:
        print_json({**_key_doc(record), "key": secret})
        return 0
    print(
        f"created key {record.key_id} for tenant {record.tenant} "
        f"with scopes {','.join(sorted(record.scopes))}"
    )
    print("store it now: it cannot be shown again")
    print(secret)
    return 0


def _key_doc(key: ApiKey) -> dict[str, object]:
    """A key as ``--json`` prints it (never its secret), times in RFC 3339."""
    return {
        "key_id": key.key_id,
        "tenant": key.tenant,
        "scopes": sorted(key.scopes),
        "label": key.label,
        "created_at": datetime.fromtimestamp(key.created_at, UTC).isoformat(),
        "revoked": key.revoked,
    }


def list_command(args: argparse.Namespace, store: Store) -> int:
    if args.json:
        print_json([_key_doc(k) for k in store.list_api_keys(args.tenant)])
        return 0
    print(f"{'key_id':<14}{'tenant':<20}{'created':<22}{'state':<9}{'scopes':<48}label")
    for k in store.list_api_keys(args.tenant):
        created = datetime.fromtimestamp(k.created_at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        state = "revoked" if k.revoked else "active"
        scopes = ",".join(sorted(k.scopes))
        print(f"{k.key_id:<14}{k.tenant:<20}{created:<22}{state:<9}{scopes:<48}{k.label or ''}")
    return 0


def revoke_command(args: argparse.Namespace, store: Store) -> int:
    revoked = store.revoke_api_key(args.key_id)
    if args.json:
        print_json({"key_id": args.key_id, "revoked": revoked})
        return 0 if revoked else 1
    if not revoked:
        print(f"no key {args.key_id}")
        return 1
    print(f"revoked {args.key_id}")
    return 0
