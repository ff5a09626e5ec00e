"""The embedded backend: one SQLite file (WAL, full sync), no server needed.

:class:`SQLiteStore` is composed of one mixin per concern (``keys``, ``tenants``, ``catalog``,
``customers``, ``events``, ``erasure``, ``policy``, ``models``, ``insights``, ``configurator``,
``locks``, ``contacts``, ``cases``, ``questions``, ``answers``, ``aliases``, ``secrets``) over the shared
connection handling of :mod:`store.sqlite.connection`; the schema is the list
of numbered migrations in :mod:`store.sqlite.migrations`.
"""

from __future__ import annotations

from typing import ClassVar

from store.base import Store
from store.outage import shield
from store.sqlite.aliases import SQLiteAliases
from store.sqlite.answers import SQLiteAnswers
from store.sqlite.cases import SQLiteCases
from store.sqlite.catalog import SQLiteCatalog
from store.sqlite.configurator import SQLiteConfigurator
from store.sqlite.connection import sqlite_outage
from store.sqlite.contacts import SQLiteContacts
from store.sqlite.customers import SQLiteCustomers
from store.sqlite.erasure import SQLiteErasure
from store.sqlite.events import SQLiteEvents
from store.sqlite.experiments import SQLiteExperiments
from store.sqlite.insights import SQLiteInsights
from store.sqlite.keys import SQLiteKeys
from store.sqlite.locks import SQLiteJobLocks
from store.sqlite.models import SQLiteModels
from store.sqlite.policy import SQLitePolicy
from store.sqlite.questions import SQLiteQuestions
from store.sqlite.secrets import SQLiteSecrets
from store.sqlite.tenants import SQLiteTenants

__all__ = ["SQLiteStore"]


@shield(sqlite_outage)
class SQLiteStore(
    SQLiteKeys,
    SQLiteTenants,
    SQLiteCatalog,
    SQLiteCustomers,
    SQLiteEvents,
    SQLiteErasure,
    SQLitePolicy,
    SQLiteModels,
    SQLiteExperiments,
    SQLiteInsights,
    SQLiteConfigurator,
    SQLiteJobLocks,
    SQLiteContacts,
    SQLiteCases,
    SQLiteQuestions,
    SQLiteAnswers,
    SQLiteAliases,
    SQLiteSecrets,
    Store,
):
    """The embedded default backend.

    Examples
    --------
    >>> store = SQLiteStore(Path(tmp) / "atelier.sqlite3")     # doctest: +SKIP
    >>> store.ensure_tenant("shop")                           # doctest: +SKIP
    True
    """

    backend: ClassVar[str] = "embedded"
