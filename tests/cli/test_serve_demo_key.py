"""The demo key of ``make serve``: the same across restarts, new only when asked or refused."""

from __future__ import annotations

from pathlib import Path

from access.keys import hash_key
from cli.serve import DEMO_KEY_FILE, demo_key
from settings import Settings
from store.base import Store


def _live(store: Store, tenant: str) -> list[str]:
    return [k.key_id for k in store.list_api_keys(tenant) if not k.revoked]


def test_the_demo_key_is_kept_across_starts(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = demo_key(store, settings)
    assert demo_key(store, settings) == first
    assert (tmp_path / DEMO_KEY_FILE).read_text().strip() == first
    assert (tmp_path / DEMO_KEY_FILE).stat().st_mode & 0o077 == 0
    assert len(_live(store, settings.demo_tenant)) == 1
    rotated = demo_key(store, settings, rotate=True)
    assert rotated != first
    assert store.get_api_key(hash_key(first)).revoked  # type: ignore[union-attr]
    assert len(_live(store, settings.demo_tenant)) == 1


def test_a_kept_key_the_store_refuses_is_replaced(store: Store, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = demo_key(store, settings)
    record = store.get_api_key(hash_key(first))
    assert record is not None
    store.revoke_api_key(record.key_id)
    second = demo_key(store, settings)
    assert second != first and not store.get_api_key(hash_key(second)).revoked  # type: ignore[union-attr]
    (tmp_path / DEMO_KEY_FILE).write_text("atl_forged_xxxxxxxx\n")
    assert demo_key(store, settings) not in (second, "atl_forged_xxxxxxxx")
