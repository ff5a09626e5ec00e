"""The answer cache: each customer's precomputed top list, valid while the store says nothing changed.

An entry holds a customer's general top-``CACHE_DEPTH`` (no request filters) under the versions
it was computed with: the store's serving versions (``Store.serving_versions``: the customer's,
which changes with every write that can change their answer, and the catalog's, which a policy
write also moves) and the policy's exclusion mask. A request reads those versions in one store query and asks :meth:`AnswerCache.get`
for an entry computed under the same ones: a hit is a dictionary lookup, and the answers of
unfiltered requests are kept on the entry (``by_n``), so serving one again is a second lookup.
Any change on any worker changes a version, so a stale entry is never served.

One cache belongs to one loaded version (item positions are that version's); it is bounded,
least recently used customers dropped first. The order is kept the "second chance" way: a hit
only marks its entry (reordering the LRU on every hit cost a third of a microsecond, a tenth of
the hit path), and eviction moves a marked entry to the recent end once instead of dropping it.

Examples
--------
>>> cache = AnswerCache(capacity=2)
>>> entry = Precomputed(7, 1, 4, np.array([3, 1], np.int32), np.array([.9, .5], np.float32), None)
>>> cache.put("c1", entry)
>>> cache.get("c1", 7, 1, 4) is entry, cache.get("c1", 8, 1, 4)
(True, None)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from recommender.answers import Answer

#: How deep a precomputed answer goes: request filters (exclude, category, newly unavailable
#: items) are applied to it; when fewer than ``n`` survive, the answer is computed live.
CACHE_DEPTH = 50

#: Plain answers (distinct ``n``) kept per customer; clients use one or two page sizes.
ANSWERS_PER_CUSTOMER = 4

#: Marked entries one eviction may move back before it drops one anyway (bounds a put's work).
_SECOND_CHANCES = 8


@dataclass(slots=True)
class Precomputed:
    """A customer's general top-``CACHE_DEPTH`` and the versions it was computed under."""

    customer_version: int
    catalog_version: int
    #: ``RecommendationPolicy.mask`` of the policy it was computed under.
    policy_mask: int
    item_idx: np.ndarray
    scores: np.ndarray
    fallback: str | None
    #: Answers of unfiltered requests by ``n`` (at most ``ANSWERS_PER_CUSTOMER``).
    by_n: dict[int, Answer] = field(default_factory=dict)
    #: Hit since it was last moved to the recent end (see the module docstring).
    used: bool = False

    def keep(self, n: int, answer: Answer) -> None:
        """Remember the unfiltered answer of size ``n`` (the catalog version is part of the
        entry's key, so availability cannot change under it)."""
        if len(self.by_n) < ANSWERS_PER_CUSTOMER:
            self.by_n[n] = answer


class AnswerCache:
    """Precomputed answers of one loaded version by customer, LRU-bounded to ``capacity``."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = max(1, int(capacity))
        self._entries: OrderedDict[str, Precomputed] = OrderedDict()
        self._lock = threading.Lock()  # the warm-up thread and requests share the LRU

    def __len__(self) -> int:
        return len(self._entries)

    def get(
        self, customer_id: str, customer_version: int, catalog_version: int, policy_mask: int
    ) -> Precomputed | None:
        """The customer's entry if it was computed under these versions and policy, else None."""
        entry = self._entries.get(customer_id)
        if (
            entry is not None
            and entry.customer_version == customer_version
            and entry.catalog_version == catalog_version
            and entry.policy_mask == policy_mask
        ):
            entry.used = True
            return entry
        return None

    def put(self, customer_id: str, entry: Precomputed) -> None:
        """Keep (or replace) the customer's entry, dropping the least recently used beyond
        ``capacity``."""
        with self._lock:
            self._entries[customer_id] = entry
            self._entries.move_to_end(customer_id)
            chances = _SECOND_CHANCES
            while len(self._entries) > self.capacity:
                key, oldest = self._entries.popitem(last=False)
                if oldest.used and chances:  # hit since it was kept: back to the recent end
                    oldest.used = False
                    self._entries[key] = oldest
                    chances -= 1

    def forget(self, customer_id: str) -> None:
        """Drop the customer's entry (erasure); a no-op when there is none."""
        with self._lock:
            self._entries.pop(customer_id, None)
