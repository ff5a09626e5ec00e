"""API keys and rate-limit windows in the embedded store (the windows in their own file)."""

from __future__ import annotations

from core.records import ApiKey
from store.codec import KEY_FIELDS, decode_key, key_fields
from store.protocols import KeyStore
from store.sqlite.connection import SQLiteConnection

_SELECT = f"SELECT {', '.join(KEY_FIELDS)} FROM api_keys"


class SQLiteKeys(SQLiteConnection, KeyStore):
    def put_api_key(self, key: ApiKey, key_hash: str) -> None:
        fields = {**key_fields(key), "key_hash": key_hash}
        with self._write() as db:
            db.execute(
                f"INSERT INTO api_keys ({', '.join(fields)})"
                f" VALUES ({', '.join(':' + name for name in fields)})",
                fields,
            )

    def get_api_key(self, key_hash: str) -> ApiKey | None:
        row = self._db().execute(_SELECT + " WHERE key_hash = ?", (key_hash,)).fetchone()
        return decode_key(row) if row else None

    def list_api_keys(self, tenant: str | None = None) -> list[ApiKey]:
        where, args = (" WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        rows = self._db().execute(_SELECT + where + " ORDER BY created_at", args)
        return [decode_key(r) for r in rows]

    def revoke_api_key(self, key_id: str) -> bool:
        with self._write() as db:
            cur = db.execute("UPDATE api_keys SET revoked = 1 WHERE key_id = ?", (key_id,))
            return cur.rowcount == 1

    def hit_rate_limit(self, key_id: str, limit: int, window_s: int, now: float) -> float:
        window = int(now // window_s)
        db = self._rate()
        row = db.execute(
            "INSERT INTO rate_windows (key_id, window, hits) VALUES (?, ?, 1)"
            " ON CONFLICT (key_id, window) DO UPDATE SET hits = hits + 1 RETURNING hits",
            (key_id, window),
        ).fetchone()
        if window % 64 == 0:  # cheap, occasional clean-up of old windows
            db.execute("DELETE FROM rate_windows WHERE window < ?", (window - 1,))
        if row[0] <= limit:
            return 0.0
        return max((window + 1) * window_s - now, 0.001)
