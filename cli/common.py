"""Helpers shared by the sub-commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from settings import Settings
from store import open_configured_store
from store.base import Store


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
