"""The embedded backend under its historical name (the code lives in :mod:`store.sqlite`)."""

from store.sqlite import SQLiteStore

__all__ = ["SQLiteStore"]
