"""The answer cache: an entry holds only under the versions it was computed with; LRU-bounded."""

from __future__ import annotations

import numpy as np

from recommender.answers import Answer
from recommender.cache import ANSWERS_PER_CUSTOMER, AnswerCache, Precomputed


def entry(customer_version: int = 1, catalog_version: int = 1, policy_mask: int = 0):
    return Precomputed(
        customer_version,
        catalog_version,
        policy_mask,
        np.array([2, 0], np.int32),
        np.array([0.9, 0.1], np.float32),
        None,
    )


def test_an_entry_holds_only_under_its_versions_and_rule() -> None:
    cache = AnswerCache()
    e = entry(customer_version=3, catalog_version=7, policy_mask=5)
    cache.put("c", e)
    assert cache.get("c", 3, 7, 5) is e
    assert cache.get("c", 4, 7, 5) is None  # the customer changed (event, profile, erasure)
    assert cache.get("c", 3, 8, 5) is None  # the catalog changed
    assert cache.get("c", 3, 7, 1) is None  # the policy changed
    assert cache.get("other", 3, 7, 5) is None
    newer = entry(customer_version=4, catalog_version=7)
    cache.put("c", newer)
    assert cache.get("c", 4, 7, 0) is newer and len(cache) == 1


def test_least_recently_used_customers_go_first() -> None:
    cache = AnswerCache(capacity=2)
    cache.put("a", entry())
    cache.put("b", entry())
    assert cache.get("a", 1, 1, 0) is not None  # a hit makes "a" the most recent
    cache.put("c", entry())
    assert len(cache) == 2
    assert cache.get("b", 1, 1, 0) is None
    assert cache.get("a", 1, 1, 0) is not None and cache.get("c", 1, 1, 0) is not None


def test_forget_and_bounded_answers_per_customer() -> None:
    cache = AnswerCache()
    e = entry()
    cache.put("c", e)
    for n in range(1, 10):
        e.keep(n, Answer("v", [], None))
    assert sorted(e.by_n) == list(range(1, ANSWERS_PER_CUSTOMER + 1))
    cache.forget("c")
    cache.forget("never-seen")
    assert cache.get("c", 1, 1, 0) is None and len(cache) == 0
