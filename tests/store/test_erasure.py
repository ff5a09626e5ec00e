"""Erasure is complete: every kind of customer data the store holds is gone, on both backends.

The test is driven by ``store.codec.CUSTOMER_DATA``: a new kind of customer data without a
writer and a reader here fails it. Beyond the getters, it scans what the backend really holds
(every SQLite table, every Redis key of the tenant) for the erased customer's id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from core.records import Customer, Event
from store.base import Store
from store.codec import CUSTOMER_DATA, CustomerData
from store.redis import RedisStore
from store.sqlite import SQLiteStore

# Distinctive strings: any byte sequence equal to them is the erased customer's data.
ERASED = "zq-erased-7f3a91"
EMAIL = "zelda.quux.7f3a91@example.org"
KEPT = "kept-customer-2b6e"


def _ev(eid: str, cid: str, **kw: object) -> Event:
    return Event(eid, cid, kw.pop("type", "view"), 100.0, **kw)  # type: ignore[arg-type]


def _configure(store: Store, tenant: str, cid: str) -> None:
    event = _ev(f"configuration:{cid}-k1", cid, type="configure", context={"code": "OS-1"})
    store.save_configuration(
        tenant, cid, {"code": "OS-1", "label": cid}, configuration_id=f"{cid}-k1", event=event
    )


def _merge_alias(store: Store, tenant: str, cid: str) -> None:
    store.add_events(tenant, [_ev(f"{cid}-alias-e1", f"{cid}-alias", item_id="i4")], [1.0])
    store.merge_customers(tenant, cid, [f"{cid}-alias"])


Writer = Callable[[Store, str, str], object]
Reader = Callable[[Store, str, str], bool]

#: How to write each kind of customer data for (tenant, customer).
WRITERS: dict[CustomerData, Writer] = {
    CustomerData.PROFILE: lambda s, t, c: s.put_customer(
        t, Customer(c, attributes={"email": f"{c}@example.org"}, account_manager=f"am-{t}")
    ),
    # event ids carry the customer id, so a forgotten idempotency id shows in the scan
    CustomerData.EVENTS: lambda s, t, c: s.add_events(
        t, [_ev(f"{c}-e1", c, item_id="i1"), _ev(f"{c}-e2", c, context={"who": c})]
    ),
    CustomerData.HISTORY: lambda s, t, c: s.add_events(
        t, [_ev(f"{c}-h1", c, type="purchase", item_id="i2")], weights=[3.0]
    ),
    CustomerData.SERVING_VERSION: lambda s, t, c: s.add_events(
        t, [_ev(f"{c}-v1", c, item_id="i3")], weights=[1.0]
    ),
    CustomerData.INSIGHTS: lambda s, t, c: s.put_insights_rows(t, {c: {"tier": "MVC", "id": c}}),
    # a run keeps the rows already there (put_insights replaces them all) and adds c's entry
    CustomerData.INSIGHTS_HISTORY: lambda s, t, c: s.put_insights(
        t,
        {"computed_at": "2026-01-01T00:00:00Z"},
        dict(s.iter_insights_rows(t)),
        history={c: {"tier": "MVC", "id": c}},
    ),
    CustomerData.CONFIGURATIONS: _configure,
    CustomerData.CONTACTS: lambda s, t, c: s.add_contact(
        t, c, {"contact_id": f"{c}-k1", "timestamp": 100.0, "note": f"called {c}"}
    ),
    CustomerData.CASES: lambda s, t, c: s.put_case(
        t, c, {"case_id": f"{c}-s1", "opened_at": 100.0, "description": f"{c} complains"}
    ),
    CustomerData.ANSWERS: lambda s, t, c: s.put_answer(
        t, c, {"question_id": "size", "value": f"{c}-M", "timestamp": 100.0}
    ),
    # an id merged into the customer: its alias entry and serving version are the customer's
    CustomerData.ALIASES: _merge_alias,
}

#: Whether the store still holds that kind of data for (tenant, customer), through its getters.
READERS: dict[CustomerData, Reader] = {
    CustomerData.PROFILE: lambda s, t, c: (
        s.get_customer(t, c) is not None
        or c in {x.customer_id for x in s.customers_of_manager(t, f"am-{t}")}
    ),
    CustomerData.EVENTS: lambda s, t, c: bool(s.customer_events(t, c)),
    CustomerData.HISTORY: lambda s, t, c: bool(s.customer_items(t, c).item_ids),
    CustomerData.SERVING_VERSION: lambda s, t, c: s.serving_versions(t, c).customer > 0,
    CustomerData.INSIGHTS: lambda s, t, c: s.get_insights_row(t, c) is not None,
    CustomerData.INSIGHTS_HISTORY: lambda s, t, c: bool(s.get_insights_history(t, c)),
    CustomerData.CONFIGURATIONS: lambda s, t, c: bool(s.list_configurations(t, c)),
    CustomerData.CONTACTS: lambda s, t, c: bool(s.list_contacts(t, c)),
    CustomerData.CASES: lambda s, t, c: bool(s.list_cases(t, c)),
    CustomerData.ANSWERS: lambda s, t, c: bool(s.list_answers(t, c)),
    CustomerData.ALIASES: lambda s, t, c: (
        bool(s.aliases_of(t, c)) or bool(s.resolve_customers(t, [f"{c}-alias"]))
    ),
}


def write_everything(store: Store, tenant: str, customer_id: str) -> None:
    for kind in CUSTOMER_DATA:
        WRITERS[kind](store, tenant, customer_id)


def held(store: Store, tenant: str, customer_id: str) -> set[CustomerData]:
    return {kind for kind in CUSTOMER_DATA if READERS[kind](store, tenant, customer_id)}


def _sqlite_cells(store: SQLiteStore, tenant: str) -> Iterator[tuple[str, object]]:
    """Every cell of every table, restricted to the tenant's rows where a table has tenants."""
    with closing(sqlite3.connect(store.path)) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
            where, args = ("WHERE tenant = ?", (tenant,)) if "tenant" in columns else ("", ())
            for row in db.execute(f"SELECT * FROM {table} {where}", args):
                for cell in row:
                    yield table, cell


def _redis_values(store: RedisStore, tenant: str) -> Iterator[tuple[str, object]]:
    """Every key of the tenant, and every value it holds, whatever its type."""
    r = store.r
    for key in r.scan_iter(match=f"{store.prefix}:{{{tenant}}}:*", count=1000):
        yield key, key
        kind = r.type(key)
        values: list[object]
        if kind == "string":
            values = [r.get(key)]
        elif kind == "hash":
            values = [x for pair in r.hgetall(key).items() for x in pair]
        elif kind == "list":
            values = list(r.lrange(key, 0, -1))
        elif kind == "set":
            values = list(r.smembers(key))
        elif kind == "zset":
            values = list(r.zrange(key, 0, -1))
        else:
            raise AssertionError(f"{key}: a {kind} key the scan does not read")
        for value in values:
            yield key, value


def traces(store: Store, tenant: str, needle: str) -> list[str]:
    """Where ``needle`` appears in what the backend holds for ``tenant``."""
    if isinstance(store, SQLiteStore):
        found = _sqlite_cells(store, tenant)
    elif isinstance(store, RedisStore):
        found = _redis_values(store, tenant)
    else:
        raise AssertionError(f"no scan for the {store.backend} backend")
    return [f"{where}: {value!r}" for where, value in found if needle in str(value)]


def test_every_kind_of_customer_data_has_a_writer_and_a_reader() -> None:
    assert set(WRITERS) == set(CUSTOMER_DATA) == set(READERS)


def test_erasure_leaves_nothing_of_the_customer(store: Store) -> None:
    write_everything(store, "t", ERASED)
    write_everything(store, "t", KEPT)
    write_everything(store, "other", ERASED)  # the same id in another tenant is another person
    assert held(store, "t", ERASED) == set(CUSTOMER_DATA)
    assert traces(store, "t", ERASED)
    kept_events = store.count_events("t") // 2

    assert store.erase_customer("t", ERASED) is True

    assert held(store, "t", ERASED) == set()
    assert traces(store, "t", ERASED) == []
    assert not store.customer_known("t", ERASED)
    # the other customer and the other tenant keep everything
    assert held(store, "t", KEPT) == set(CUSTOMER_DATA)
    assert held(store, "other", ERASED) == set(CUSTOMER_DATA)
    assert traces(store, "other", ERASED)
    assert store.count_events("t") == kept_events
    assert set(store.events_frame("t").customer_id.tolist()) == {KEPT}
    # the idempotency ids went with the events: sending one again stores it anew
    assert store.add_events("t", [_ev(f"{ERASED}-e1", ERASED, item_id="i1")]) == [True]


def test_erasure_leaves_no_copy_in_the_files(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "atelier.sqlite3")
    wal = store.path.with_name(store.path.name + "-wal")

    def on_disk(text: str) -> bool:
        data = store.path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        return text.encode() in data

    write_everything(store, "t", KEPT)
    write_everything(store, "t", ERASED)
    store.put_customer("t", Customer(ERASED, attributes={"email": EMAIL, "v": 2}))  # a rewrite
    write_everything(store, "t", "another-one")
    assert on_disk(ERASED) and on_disk(EMAIL)

    assert store.erase_customer("t", ERASED)

    assert not on_disk(ERASED)
    assert not on_disk(EMAIL)
    assert on_disk(KEPT)
    assert not wal.exists() or wal.stat().st_size == 0
    store.close()


@pytest.mark.parametrize("kind", CUSTOMER_DATA)
def test_each_kind_alone_is_erased(store: Store, kind: CustomerData) -> None:
    WRITERS[kind](store, "t", ERASED)
    assert kind in held(store, "t", ERASED)
    assert store.erase_customer("t", ERASED) is True  # something was held
    assert held(store, "t", ERASED) == set()
    assert traces(store, "t", ERASED) == []
