"""The suggested completion: the valid variant that best meets, in this order, the customer's
explicit preferences, the measurements, the preferences learned from their history, then the
lowest price and the shortest module lead time.

Each option gets integer criteria ``[preference rank, fit distance, -learned affinity, price,
module days, index]``; a completion's cost is their sum per criterion, compared
lexicographically. The criteria are folded into one integer per option (mixed radix, wide
enough that sums cannot carry) so that the backend minimises one sum
(:meth:`configurator.backend.Backend.minimize`). The last three criteria do not depend on the
request and are folded once.

Example
-------
>>> from configurator import reference_families
>>> from configurator.compiled import CompiledFamily
>>> cf = CompiledFamily(reference_families()["original-spin"])
>>> best = Suggester(cf).suggest({}, {cf.index["wash"]: [cf.opt_index[cf.index["wash"]]["black"]]})
>>> cf.selections(best)["wash"]
'black'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from configurator.backend import Costs
from configurator.compiled import CompiledFamily
from configurator.picks import Learned
from configurator.results import module_days


class Suggester:
    """Best completions over one compiled family (request-independent costs folded once)."""

    def __init__(self, cf: CompiledFamily) -> None:
        self.cf = cf
        # per option: [pref rank, fit distance, -learned, price, days, index] as non-negative
        # integers (per-attribute shifts do not change which completion is best)
        self._base_w = []
        for op in cf.opts:
            w = np.zeros((len(op), 6), np.int64)
            cents = np.array([round(o.price_delta * 100) for o in op], np.int64)
            days = np.array([module_days(o) + o.extra_days for o in op], np.int64)
            w[:, 3] = cents - cents.min()
            w[:, 4] = days - days.min()
            w[:, 5] = np.arange(len(op))
            self._base_w.append(w)
        radix_low = [int(sum(int(w[:, c].max()) for w in self._base_w)) + 1 for c in (3, 4, 5)]
        _, r4, r5 = radix_low
        self._low_radix = radix_low[0] * r4 * r5
        self._low: list[list[int]] = []
        self._low_arr: list[np.ndarray] = []
        self._low_rank: list[np.ndarray] = []
        for w in self._base_w:
            low = [(int(x3) * r4 + int(x4)) * r5 + int(x5) for x3, x4, x5 in w[:, 3:].tolist()]
            self._low.append(low)
            if self._low_radix < 2**62:
                self._low_arr.append(np.array(low, np.int64))
            self._low_rank.append(
                np.argsort(np.argsort(np.array(low, dtype=object), kind="stable"), kind="stable")
            )
        order = list(range(len(cf.attrs)))
        with cf.lock:  # the best value of every exit under the request-free costs
            cf.backend.minimize({}, Costs(self._low, self._low_rank, order))

    def suggest(
        self,
        merged: Mapping[int, np.ndarray],
        prefs: Mapping[int, list[int]],
        learned: Learned | None = None,
        dist: Mapping[int, np.ndarray] | None = None,
    ) -> dict[int, int] | None:
        """The best valid completion of ``merged`` (option index per attribute), or None.

        ``prefs``: ``{attribute: [options, best first]}``; ``learned``: ``{attribute name:
        {value: weight}}`` (unknown names ignored); ``dist``: per size attribute, each module's
        distance to the measurements. Call under ``cf.lock``."""
        lw = self._affinity(learned or {})
        dist = dist or {}
        high = self._request_criteria(prefs, dist, lw)
        order = (
            [a for a in prefs]
            + [a for a in dist if a not in prefs]
            + sorted(
                (a for a in lw if a not in prefs and a not in dist), key=lambda a: -lw[a].max()
            )
        )
        best = self.cf.backend.minimize(merged, self._costs(high, order))
        return None if best is None else dict(enumerate(best))

    def _affinity(self, learned: Learned) -> dict[int, np.ndarray]:
        cf = self.cf
        lw: dict[int, np.ndarray] = {}
        for name, d in learned.items():
            if name in cf.index:
                a = cf.index[name]
                aff = np.zeros(cf.sizes[a])
                for v, x in d.items():
                    if v in cf.opt_index[a]:
                        aff[cf.opt_index[a][v]] = float(x)
                lw[a] = aff
        return lw

    def _request_criteria(
        self,
        prefs: Mapping[int, list[int]],
        dist: Mapping[int, np.ndarray],
        lw: Mapping[int, np.ndarray],
    ) -> dict[int, np.ndarray]:
        """Criteria 0-2 (preference rank, fit distance, learned affinity) of the attributes
        the request touches."""
        high: dict[int, np.ndarray] = {}
        for a in {*prefs, *dist, *lw}:
            h = np.zeros((self.cf.sizes[a], 3), np.int64)
            ranks = prefs.get(a)
            if ranks:
                h[:, 0] = len(ranks)
                for r, j in enumerate(ranks):
                    h[j, 0] = min(h[j, 0], r)
            if a in dist:
                h[:, 1] = np.round(dist[a] * 1000)
            if a in lw:
                h[:, 2] = np.round((lw[a].max() - lw[a]) * 10_000)
            high[a] = h
        return high

    def _costs(self, high: Mapping[int, np.ndarray], order: Sequence[int]) -> Costs:
        """All six criteria folded: the request's over the request-free ones."""
        r1 = sum(int(h[:, 1].max()) for h in high.values()) + 1
        r2 = sum(int(h[:, 2].max()) for h in high.values()) + 1
        scalars: list[Sequence[int]] = list(self._low)
        ranks: list[np.ndarray] = list(self._low_rank)
        top = 0  # the largest folded cost, to know whether int64 holds it
        for h in high.values():
            top = max(
                top,
                ((int(h[:, 0].max()) * r1 + int(h[:, 1].max())) * r2 + int(h[:, 2].max()))
                * self._low_radix
                + self._low_radix,
            )
        for a, h in high.items():
            if top < 2**62:
                hi = (h[:, 0] * r1 + h[:, 1]) * r2 + h[:, 2]
                scalars[a] = (hi * self._low_radix + self._low_arr[a]).tolist()
            else:
                scalars[a] = [
                    ((x0 * r1 + x1) * r2 + x2) * self._low_radix + lo
                    for (x0, x1, x2), lo in zip(h.tolist(), self._low[a], strict=True)
                ]
            w = self._base_w[a]
            # within one attribute, the folded order is the lexicographic order of rows
            perm = np.lexsort((w[:, 5], w[:, 4], w[:, 3], h[:, 2], h[:, 1], h[:, 0]))
            rank = np.empty(len(perm), np.int64)
            rank[perm] = np.arange(len(perm))
            ranks[a] = rank
        return Costs(scalars, ranks, order)
