"""A manager's portfolio version on both backends: every write a worklist reads moves it, and
nothing else does (so a worker's cached worklist is dropped exactly when it goes stale)."""

from __future__ import annotations

import pytest

from core.records import Customer, Event
from store.base import Store


class Watch:
    """The versions of two portfolios, and what a write did to each."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.seen: dict[str, set[int]] = {"am": {0}, "bm": {0}}
        self.held = {m: store.portfolio_version("t", m) for m in ("am", "bm")}

    def after(self) -> set[str]:
        """The managers whose version moved since the last call (each to a value it never had)."""
        moved = set()
        for manager, before in self.held.items():
            now = self.store.portfolio_version("t", manager)
            if now != before:
                assert now not in self.seen[manager], "a version came back"
                self.seen[manager].add(now)
                moved.add(manager)
            self.held[manager] = now
        return moved


@pytest.fixture
def watch(store: Store) -> Watch:
    store.put_customers(
        "t", [Customer("a1", account_manager="am"), Customer("b1", account_manager="bm")]
    )
    store.put_customer("t", Customer("free"))
    return Watch(store)


def test_a_portfolio_version_moves_with_what_its_worklist_reads(store: Store, watch: Watch) -> None:
    assert store.portfolio_version("t", "am") > 0
    assert store.portfolio_version("t", "nobody") == 0
    assert store.portfolio_version("other", "am") == 0  # tenants apart

    store.put_customer("t", Customer("a1", {"segment": "x"}, account_manager="am"))
    assert watch.after() == {"am"}
    store.put_customer("t", Customer("a1", account_manager="bm"))  # moved: both change
    assert watch.after() == {"am", "bm"}
    store.update_customer("t", "a1", lambda c: Customer("a1", account_manager="am"))
    assert watch.after() == {"am", "bm"}

    contact = {"contact_id": "k1", "timestamp": 1.0}
    assert store.add_contact("t", "a1", contact) is None
    assert watch.after() == {"am"}
    store.add_contact("t", "a1", contact)  # the same contact again: nothing new
    assert watch.after() == set()
    store.put_case("t", "b1", {"case_id": "s1", "opened_at": 1.0, "status": "open"})
    assert watch.after() == {"bm"}
    store.put_case("t", "a1", {"case_id": "s1", "opened_at": 1.0, "status": "open"})
    assert watch.after() == {"am", "bm"}  # the case moved from b1 to a1

    store.put_insights_rows("t", {"a1": {"tier": "MVC"}})
    assert watch.after() == {"am"}
    store.put_insights("t", {"computed_at": 1.0}, {"free": {"tier": "BZ"}})  # a job run
    assert watch.after() == {"am", "bm"}

    # what a worklist does not read leaves every version as it was
    store.add_events("t", [Event("e1", "a1", "purchase", 1.0, item_id="i1")], [1.0])
    store.put_customer("t", Customer("free", {"k": 1}))
    store.add_contact("t", "free", {"contact_id": "k2", "timestamp": 2.0})
    store.put_answer("t", "a1", {"question_id": "size", "value": "M", "timestamp": 1.0})
    assert watch.after() == set()

    store.merge_customers("t", "a1", ["b1"])
    assert watch.after() == {"am", "bm"}
    assert store.erase_customer("t", "a1")
    assert watch.after() == {"am"}
