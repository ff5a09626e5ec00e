"""The key of the variant codes' integrity tag: the deployment's ``ATELIER_CONFIGURATOR_SECRET``
if it set one, else a random secret the service makes on first use and keeps in the store.

Kept in the store, not made per process: every worker and replica must sign and check codes
with the same key, or a code issued by one is refused by the next. Resolved lazily, on the first
code made or checked, never when the app is built: a service started while its store is down
must still start (the first configurator request then answers 503 and the next one tries again).

Example
-------
>>> import tempfile
>>> from pathlib import Path
>>> from store.sqlite import SQLiteStore
>>> store = SQLiteStore(Path(tempfile.mkdtemp()) / "atelier.sqlite3")
>>> made = CodeKey(store)()
>>> len(made), CodeKey(store)() == made    # a second worker reads the same secret
(43, True)
>>> CodeKey(store, override=b"from-the-environment")()
b'from-the-environment'
"""

from __future__ import annotations

import logging
import secrets
import threading

from store.protocols import SecretStore

log = logging.getLogger(__name__)

#: The name of the configurator's secret in the store.
SECRET_NAME = "configurator-code-key"


class CodeKey:
    """The configurator's key, asked of the store once per process (a callable: ``key()``).

    Parameters
    ----------
    store : SecretStore or None
        Where the made secret is kept (None: only ``override`` can serve).
    override : bytes
        The deployment's own secret; when set, the store is never asked.
    """

    def __init__(self, store: SecretStore | None, override: bytes = b"") -> None:
        self.store = store
        self.override = override
        self._key: bytes | None = override or None
        self._lock = threading.Lock()

    def __call__(self) -> bytes:
        """The key; raises ``core.errors.Unavailable`` (503) while the store cannot answer."""
        key = self._key
        if key is None:
            with self._lock:
                key = self._key
                if key is None:
                    key = self._key = self._from_store()
        return key

    def _from_store(self) -> bytes:
        if self.store is None:
            raise RuntimeError("no configurator secret is set and no store keeps one")
        # 32 random bytes (43 URL-safe characters); the first worker to store one wins.
        value = self.store.ensure_secret(SECRET_NAME, secrets.token_urlsafe(32))
        log.info(
            "configurator: variant codes are keyed by the service's own secret, kept in the "
            "store (ATELIER_CONFIGURATOR_SECRET overrides it)"
        )
        return value.encode()
