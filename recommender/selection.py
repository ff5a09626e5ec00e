"""Which served items may be answered, and the exact top-``n`` among them.

:class:`ItemMask` holds each served item's availability (changed at runtime by catalog updates)
and category (fixed when a version is loaded) as additive float32 masks, 0 where allowed and
``-inf`` where not, cached per category: a request adds one mask to its scores instead of
testing items one by one. :func:`top_n` is the selection every answer goes through.

Examples
--------
>>> mask = ItemMask(["shoe", "shoe", "hat", None])
>>> mask.set_available([1], False)
>>> top_n(np.array([4.0, 3.0, 2.0, 1.0], np.float32), 3, mask.penalty("shoe"))[0].tolist()
[0]
>>> top_n(np.array([4.0, 3.0, 2.0, 1.0], np.float32), 3, mask.penalty("hat,shoe"))[0].tolist()
[0, 2]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

#: Most items one answer holds (the API's bound on ``n``).
MAX_N = 100
#: Most category filters whose masks are kept (callers choose the filters: bounded memory).
MAX_CACHED_FILTERS = 256


class ItemMask:
    """Availability and category of every served item (positions as in ``LoadedModel``).

    ``version`` changes with every availability change, so a caller keeping masks derived from
    :meth:`penalty` (e.g. reordered) knows when to derive them again.
    """

    def __init__(self, categories: Sequence[str | None]) -> None:
        n = len(categories)
        self.available = np.ones(n, dtype=bool)
        self.codes: dict[str, int] = {}
        self.category_of = np.array(
            [-1 if c is None else self.codes.setdefault(c, len(self.codes)) for c in categories],
            dtype=np.int32,
        )
        self.version = 0
        self._penalties: dict[str | None, np.ndarray] = {}

    def set_available(self, positions: Iterable[int], available: bool) -> None:
        """Mark items (un)available, e.g. after ``DELETE /items``."""
        for pos in positions:
            self.available[pos] = available
        self._penalties = {}
        self.version += 1

    def _codes(self, category: str) -> np.ndarray:
        """The codes of a category filter's categories (unknown ones match nothing)."""
        return np.array(
            [self.codes[c] for c in split_categories(category) if c in self.codes], np.int32
        )

    def allowed(self, idx: np.ndarray, category: str | None = None) -> np.ndarray:
        """Boolean mask: which of ``idx`` are available now (and in one of ``category``'s
        categories when given)."""
        ok = self.available[idx]
        if category is not None:
            ok = ok & np.isin(self.category_of[idx], self._codes(category))
        return ok

    def penalty(self, category: str | None = None) -> np.ndarray:
        """Additive mask (0 allowed, ``-inf`` not) for availability and category, cached."""
        cached = self._penalties.get(category)
        if cached is None:
            ok = self.available.copy()
            if category is not None:
                ok &= np.isin(self.category_of, self._codes(category))
            cached = np.where(ok, 0.0, -np.inf).astype(np.float32)
            if len(self._penalties) >= MAX_CACHED_FILTERS:
                self._penalties = {}
            self._penalties[category] = cached
        return cached


def split_categories(category: str) -> list[str]:
    """The categories of a filter: ``"shoe,bag"`` is shoes or bags (API.md's comma-separated
    lists); the API passes it canonical (sorted, unique, no blanks), so it also keys caches."""
    return [c for c in (part.strip() for part in category.split(",")) if c]


def in_categories(item_category: str | None, category: str | None) -> bool:
    """Whether an item of ``item_category`` passes the filter ``category`` (None: any)."""
    return category is None or (
        item_category is not None and item_category in split_categories(category)
    )


def clip_n(n: int) -> int:
    """``n`` within ``[0, MAX_N]``."""
    return max(0, min(int(n), MAX_N))


def top_n(
    scores: np.ndarray,
    n: int,
    penalty: np.ndarray,
    banned: Sequence[np.ndarray | None] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best allowed items of ``scores`` (modified in place): ``(int32 idx, float32
    scores)`` best first, without masked (``penalty``) or ``banned`` items."""
    n = clip_n(n)
    scores += penalty
    for ex in banned:
        if ex is not None and len(ex):
            scores[np.asarray(ex)] = -np.inf
    if n == 0:
        return np.empty(0, np.int32), np.empty(0, np.float32)
    part = candidates(scores, n)
    top = scores[part]
    order = np.argsort(-top, kind="stable")
    idx, sc = part[order], top[order]
    keep = np.isfinite(sc)
    return idx[keep].astype(np.int32), sc[keep].astype(np.float32)


def candidates(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices holding the top ``n`` scores (exact), faster than argpartition on big arrays.

    The n-th largest of a strided sample is a lower bound of the n-th largest overall, so every
    score >= it is a candidate and the true top ``n`` are among them (~n x stride candidates).
    """
    size = len(scores)
    if size <= 4096 or n * 64 >= size:
        return np.argpartition(scores, size - n)[size - n :] if n < size else np.arange(size)
    sample = scores[:: size // (n * 32)]
    threshold = np.partition(sample, len(sample) - n)[len(sample) - n]
    cand = np.flatnonzero(scores >= threshold)
    if len(cand) > n:
        cand = cand[np.argpartition(scores[cand], len(cand) - n)[len(cand) - n :]]
    return cand
