"""Helpers shared by the sub-commands: the configured store, and the options of event files."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from settings import Settings
from store import open_configured_store
from store.base import Store

if TYPE_CHECKING:
    from events.files import ReadOptions


def with_store(
    func: Callable[[argparse.Namespace, Store], Any],
) -> Callable[[argparse.Namespace], Any]:
    """Wrap a handler ``(args, store)`` so it runs with the store configured by the environment."""

    def handler(args: argparse.Namespace) -> Any:
        store = open_configured_store(Settings())
        try:
            return func(args, store)
        finally:
            store.close()

    return handler


def json_argument(parser: argparse.ArgumentParser, *, already: bool = False) -> None:
    """``--json``: the command's result as one JSON document on stdout (for scripts);
    ``already``: the command prints one anyway, the flag is accepted so every command takes it."""
    text = "print the result as one JSON document (for scripts)"
    if already:
        text = "the result is printed as one JSON document in any case (accepted for scripts)"
    parser.add_argument("--json", action="store_true", help=text)


def print_json(document: Any) -> None:
    """One JSON document on stdout, keys in the order given."""
    print(json.dumps(document, indent=2, ensure_ascii=False, default=str))


def event_file_arguments(parser: argparse.ArgumentParser, *, map_required: bool) -> None:
    """``--map``, ``--type``, ``--negative-as-return``, ``--exclude-items``: how an event file
    is read, the same for ``import events``, ``train --events`` and ``evaluate --events``."""
    parser.add_argument(
        "--map",
        required=map_required,
        dest="mapping",
        help="field=Column,... (event_id, customer_id, item_id, type, quantity, "
        "value, unit_price, timestamp, context.NAME)",
    )
    parser.add_argument("--type", default="purchase", help="event type when no column maps it")
    parser.add_argument(
        "--negative-as-return",
        action="store_true",
        help="a purchase line with a negative quantity becomes a return",
    )
    parser.add_argument(
        "--exclude-items",
        default="",
        help="comma-separated item ids that are not products (fees, postage)",
    )


def read_options(args: argparse.Namespace) -> ReadOptions:
    """The :class:`events.files.ReadOptions` of :func:`event_file_arguments`' flags; timestamps
    may lie as far ahead as the API allows (``ATELIER_MAX_FUTURE_SKEW_S``)."""
    from events.files import ReadOptions

    return ReadOptions(
        default_type=args.type,
        negative_as_return=args.negative_as_return,
        exclude_items=frozenset(s.strip() for s in args.exclude_items.split(",") if s.strip()),
        max_future_s=Settings().max_future_skew_s,
    )
