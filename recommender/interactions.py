"""Turn events into the weighted customer x item matrix that every model family trains on.

One weighting serves offline and online: :func:`build_matrix` builds the training matrix from an
:class:`~core.records.EventFrame`, and :func:`history_row` builds one customer's row from that
customer's events with the *same* code, so the serving layer folds in exactly what training saw.

Decision (online rows): the store keeps the customer's raw events; the serving layer calls
:func:`history_row` on them with ``as_of`` from :func:`serving_as_of` (the training data's last
event, or the customer's own later one). This is exact with time decay, and erasing the events
erases the row. Without decay, :func:`update_history` +
:func:`finalize_history` maintain the same row incrementally from a ``{item_id: raw_weight}`` dict.

Examples
--------
>>> from core.records import Event, EventFrame
>>> f = EventFrame.from_events([
...     Event("1", "c1", "view", 0.0, item_id="a"),
...     Event("2", "c1", "purchase", 0.0, item_id="b"),
...     Event("3", "c2", "add_to_cart", 0.0, item_id="a")])
>>> m, customers, items = build_matrix(f, InteractionWeights())
>>> m.toarray().tolist(), customers.tolist(), items.tolist()
([[1.0, 4.0], [2.0, 0.0]], ['c1', 'c2'], ['a', 'b'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from core.records import Event, EventFrame, kind_bit
from recommender.policy import DEFAULT_POLICY, RecommendationPolicy

DEFAULT_TYPE_WEIGHTS: dict[str, float] = {
    "impression": 0.0,
    "view": 1.0,
    "click": 1.0,
    "configure": 1.0,
    "add_to_cart": 2.0,
    "purchase": 4.0,
    "return": -4.0,
    "dislike": -4.0,
}

_DAY = 86400.0
#: Inactivity that ends a visit: web analytics' convention of 30 minutes.
SESSION_GAP_S = 1800.0


@dataclass(frozen=True)
class InteractionWeights:
    """How events become matrix weights.

    Parameters
    ----------
    type_weights
        Weight per event type (view < add_to_cart < purchase; ``return`` and ``dislike`` negative).
        Types not listed weigh 0.
    rating_scale, rating_offset, rating_power
        A ``rating`` event weighs ``rating_scale * d ** rating_power`` with ``d = value -
        rating_offset`` (the sign of ``d`` kept): with an offset of 3 a one-star rating counts
        against the item; a power below 1 shrinks the gap between stars (``rating^0.5``).
    quantity
        ``"none"`` ignores quantities; ``"log"`` multiplies by ``1 + log(quantity)``.
    half_life_days
        Optional exponential decay: an event ``half_life_days`` before ``as_of`` counts half.
    max_weight
        Optional cap on a cell after summing; cells are always clipped to >= 0 and zeros dropped.
    binary
        Replace every positive cell by 1 (some families, e.g. EASE on ratings, prefer it).
    session_share
        Training only: the share of the co-occurrence the models learn that comes from within
        one visit (:func:`with_sessions`); 0 counts every pair of a customer's items alike.
        Serving rows are the customers' rows whatever it is.
    """

    type_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TYPE_WEIGHTS))
    rating_scale: float = 1.0
    rating_offset: float = 0.0
    rating_power: float = 1.0
    quantity: str = "none"
    half_life_days: float | None = None
    max_weight: float | None = None
    binary: bool = False
    session_share: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.session_share < 1.0:
            raise ValueError("session_share must be in [0, 1)")
        if self.quantity not in ("none", "log"):
            raise ValueError(f"quantity must be 'none' or 'log', not {self.quantity!r}")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        if not self.rating_power > 0:
            raise ValueError("rating_power must be positive")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["type_weights"] = dict(self.type_weights)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> InteractionWeights:
        return cls(**dict(d))


def event_weights(
    types: np.ndarray,
    values: np.ndarray,
    quantities: np.ndarray,
    timestamps: np.ndarray,
    weights: InteractionWeights,
    as_of: float | None = None,
) -> np.ndarray:
    """Signed weight of each event (before summing per cell and clipping), float64."""
    types = np.asarray(types)
    w = np.zeros(len(types), dtype=np.float64)
    for name, tw in weights.type_weights.items():
        if name != "rating" and tw != 0.0:
            w[types == name] = tw
    is_rating = types == "rating"
    if is_rating.any():
        d = np.asarray(values, dtype=np.float64)[is_rating] - weights.rating_offset
        if weights.rating_power != 1.0:
            d = np.sign(d) * np.abs(d) ** weights.rating_power
        w[is_rating] = np.where(np.isnan(d), 0.0, weights.rating_scale * d)
    if weights.quantity == "log":
        q = np.asarray(quantities, dtype=np.float64)
        q = np.where(np.isnan(q) | (q < 1.0), 1.0, q)
        w *= 1.0 + np.log(q)
    if weights.half_life_days is not None:
        ts = np.asarray(timestamps, dtype=np.float64)
        ref = float(ts.max()) if as_of is None and len(ts) else float(as_of or 0.0)
        age_days = np.maximum(ref - ts, 0.0) / _DAY
        w *= np.power(0.5, age_days / weights.half_life_days)
    return w


def serving_as_of(trained_as_of: float | None, timestamps: np.ndarray) -> float | None:
    """The time a served row's decay counts from: the last event the model was trained on, or
    the customer's own last event when it is later.

    A row is then a function of the customer's events alone, as the answer cache assumes (an
    answer changes with a write, not with the clock), and a customer with nothing new gets the
    very row the model was trained and validated on. Wall-clock time would not be: a decay
    with a cap (``max_weight``) is not scale-free, so rows decayed to "now" drift from the
    training rows as the model ages (every cell far below the cap, which then never binds).

    >>> serving_as_of(100.0, np.array([50.0, 90.0])), serving_as_of(100.0, np.array([120.0]))
    (100.0, 120.0)
    """
    last = float(np.max(timestamps)) if len(timestamps) else None
    if trained_as_of is None or last is None:
        return last if trained_as_of is None else trained_as_of
    return max(float(trained_as_of), last)


def _finish(m: sp.csr_matrix, weights: InteractionWeights) -> sp.csr_matrix:
    # Sum per cell happened in the COO->CSR conversion; now clip, cap and drop empty cells.
    m.data = np.maximum(m.data, 0.0)
    if weights.max_weight is not None:
        m.data = np.minimum(m.data, weights.max_weight)
    if weights.binary:
        m.data = (m.data > 0).astype(m.data.dtype)
    m.eliminate_zeros()
    m.sort_indices()
    return m


def _codes(values: np.ndarray, fixed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted unique ids and each value's code, or codes into ``fixed`` (-1 when absent)."""
    if fixed is None:
        # Arrow's hash table, then a sort of the distinct values only: np.unique would copy
        # every row into a fixed-width array and sort all of them (53 s at 10M events).
        try:
            encoded = pc.dictionary_encode(pa.array(values, pa.string(), from_pandas=False))
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all str (the frame's contract)
            uniq, inv = np.unique(values.astype(str), return_inverse=True)
            return uniq, inv.astype(np.int64)
        distinct = encoded.dictionary
        order = np.asarray(pc.sort_indices(distinct).to_numpy(zero_copy_only=False))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        uniq = np.array(distinct.take(pa.array(order)).to_pylist(), dtype=str)
        if not len(uniq):
            uniq = np.empty(0, dtype="<U1")
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        return uniq, rank[codes]
    fixed = np.asarray(fixed).astype(str)
    index = {k: i for i, k in enumerate(fixed.tolist())}
    codes = np.fromiter((index.get(v, -1) for v in values), dtype=np.int64, count=len(values))
    return fixed, codes


def build_matrix(
    frame: EventFrame,
    weights: InteractionWeights | None = None,
    as_of: float | None = None,
    item_ids: np.ndarray | None = None,
    customer_ids: np.ndarray | None = None,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Weighted customer x item CSR matrix (float32) with its customer and item id arrays.

    Events without an item are ignored. ``item_ids`` fixes the column space (events on other
    items are dropped), e.g. to build a test matrix in a trained model's item space;
    ``customer_ids`` likewise fixes the rows. Rows that end
    up empty are kept so that row ``u`` is always ``customer_ids[u]``.
    """
    weights = weights or InteractionWeights()
    has_item = frame.item_id != ""
    f = frame.select(has_item) if not has_item.all() else frame
    w = event_weights(f.type, f.value, f.quantity, f.timestamp, weights, as_of)
    keep = w != 0.0
    cust_u, cust_inv = _codes(f.customer_id, customer_ids)
    item_u, item_inv = _codes(f.item_id, item_ids)
    keep &= (cust_inv >= 0) & (item_inv >= 0)
    m = sp.csr_matrix((w[keep], (cust_inv[keep], item_inv[keep])), shape=(len(cust_u), len(item_u)))
    m = _finish(m, weights)
    return m.astype(np.float32), cust_u, item_u


def with_sessions(
    matrix: sp.csr_matrix,
    frame: EventFrame,
    customer_ids: np.ndarray,
    item_ids: np.ndarray,
    share: float,
    gap_s: float = SESSION_GAP_S,
) -> sp.csr_matrix:
    """The rows a model fits on when part of the co-occurrence comes from within visits.

    A customer's cells are grouped into visits: sorted by their latest event, a new visit
    starts after ``gap_s`` without one. The result stacks ``sqrt(1 - share)`` times the
    customer rows of ``matrix`` (from ``frame`` with these ids, as :func:`build_matrix` built
    it) over ``sqrt(share)`` times one row per visit holding that visit's cells, so its Gram
    matrix is ``(1 - share)·XᵀX + share·SᵀS``: items engaged with in one sitting (a basket, a
    binge of films) count as more related than items a customer took years apart. Each cell
    is in one visit, so every item's own weight (the Gram's diagonal, what the relative
    penalties scale with) is unchanged.

    >>> from core.records import Event, EventFrame
    >>> f = EventFrame.from_events([Event("1", "c", "purchase", 0.0, item_id="a"),
    ...     Event("2", "c", "purchase", 60.0, item_id="b"),
    ...     Event("3", "c", "purchase", 86400.0, item_id="c")])
    >>> m, customers, items = build_matrix(f)
    >>> g = with_sessions(m, f, customers, items, 0.5).toarray()
    >>> gram = g.T @ g
    >>> [round(float(gram[0, j]), 3) for j in (1, 2, 0)]
    [16.0, 8.0, 16.0]
    """
    if share <= 0.0:
        return matrix
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    has_item = frame.item_id != ""
    f = frame.select(has_item) if not has_item.all() else frame
    _, c = _codes(f.customer_id, customer_ids)
    _, i = _codes(f.item_id, item_ids)
    ok = (c >= 0) & (i >= 0)
    n_items = matrix.shape[1]
    key = c[ok] * n_items + i[ok]
    ts = np.asarray(f.timestamp, dtype=np.float64)[ok]
    order = np.lexsort((ts, key))
    key, ts = key[order], ts[order]
    ends = np.r_[key[1:] != key[:-1], True] if len(key) else np.zeros(0, dtype=bool)
    key, last = key[ends], ts[ends]
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    cells = rows * n_items + matrix.indices
    at = np.clip(np.searchsorted(key, cells), 0, max(len(key) - 1, 0))
    when = last[at] if len(key) else np.zeros(len(cells))
    by_time = np.lexsort((when, rows))
    r, t = rows[by_time], when[by_time]
    new_visit = np.ones(len(r), dtype=bool)
    new_visit[1:] = (r[1:] != r[:-1]) | (t[1:] - t[:-1] > gap_s)
    visit = np.cumsum(new_visit) - 1
    n_visits = int(visit[-1]) + 1 if len(visit) else 0
    visits = sp.csr_matrix(
        (matrix.data[by_time], (visit, matrix.indices[by_time])), shape=(n_visits, n_items)
    )
    stacked = sp.vstack([np.sqrt(1.0 - share) * matrix, np.sqrt(share) * visits], format="csr")
    return stacked.astype(np.float32)


@dataclass(frozen=True)
class CustomerHistory:
    """One customer's row in a model's item space: what serving folds in.

    ``idx``/``weights`` are the non-zero cells (int32 item indices, float32 weights, sorted by
    index) and ``kinds`` each cell's interaction mask (``core.records.kind_bit``; what reasons
    name); ``excluded`` the indices of items the customer already has by the tenant's
    :class:`~recommender.policy.RecommendationPolicy` (never recommended), cells or not: a
    disliked item weighs nothing but is excluded.
    """

    idx: np.ndarray
    weights: np.ndarray
    excluded: np.ndarray
    kinds: np.ndarray

    @classmethod
    def empty(cls) -> CustomerHistory:
        z = np.empty(0, dtype=np.int32)
        return cls(z, np.empty(0, dtype=np.float32), z.copy(), np.empty(0, dtype=np.int64))


def history_row(
    events: EventFrame,
    item_index: Mapping[str, int],
    weights: InteractionWeights | None = None,
    as_of: float | None = None,
    policy: RecommendationPolicy = DEFAULT_POLICY,
) -> CustomerHistory:
    """One customer's history row, computed exactly as :func:`build_matrix` computes the rows.

    ``item_index`` maps item ids to the model's column indices (``LoadedModel.item_index``); events
    on unknown items are ignored (new items are served by attribute similarity instead).
    """
    weights = weights or InteractionWeights()
    n = len(events)
    if n == 0:
        return CustomerHistory.empty()
    cols = np.fromiter((item_index.get(i, -1) for i in events.item_id), dtype=np.int64, count=n)
    known = cols >= 0
    w = event_weights(events.type, events.value, events.quantity, events.timestamp, weights, as_of)
    excluded = np.unique(cols[known & policy.excludes_types(events.type)]).astype(np.int32)
    keep = known & (w != 0.0)
    if not keep.any():
        return CustomerHistory(
            np.empty(0, np.int32), np.empty(0, np.float32), excluded, np.empty(0, np.int64)
        )
    idx, inv = np.unique(cols[keep], return_inverse=True)
    sums = np.bincount(inv, weights=w[keep])
    bits = np.fromiter((kind_bit(str(t)) for t in events.type[keep]), np.int64, int(keep.sum()))
    kinds = np.zeros(len(idx), dtype=np.int64)
    np.bitwise_or.at(kinds, inv, bits)
    row = sp.csr_matrix((sums, (np.zeros(len(idx), dtype=np.int64), idx)))
    row = _finish(row, weights)
    kept = np.isin(idx, row.indices)
    return CustomerHistory(
        row.indices.astype(np.int32), row.data.astype(np.float32), excluded, kinds[kept]
    )


def update_history(
    raw: dict[str, float],
    item_id: str,
    event_type: str,
    weights: InteractionWeights,
    value: float | None = None,
    quantity: float | None = None,
) -> dict[str, float]:
    """Add one event to a ``{item_id: raw summed weight}`` dict in place (no time decay).

    Raises ``ValueError`` when ``weights`` has a half-life: decayed rows need :func:`history_row`.
    """
    if weights.half_life_days is not None:
        raise ValueError("update_history cannot apply time decay; use history_row")
    w = event_weights(
        np.array([event_type]),
        np.array([np.nan if value is None else value]),
        np.array([np.nan if quantity is None else quantity]),
        np.zeros(1),
        weights,
    )[0]
    if w != 0.0:
        raw[item_id] = raw.get(item_id, 0.0) + float(w)
    return raw


def finalize_history(
    raw: Mapping[str, float],
    item_index: Mapping[str, int],
    weights: InteractionWeights,
    kinds: Mapping[str, int] | None = None,
    policy: RecommendationPolicy = DEFAULT_POLICY,
) -> CustomerHistory:
    """The :class:`CustomerHistory` of a dict maintained by :func:`update_history`, with each
    item's interaction mask (the store's ``CustomerItems.kinds``) deciding, by ``policy``, what
    is excluded."""
    kinds = kinds or {}
    pairs = sorted((item_index[k], v, kinds.get(k, 0)) for k, v in raw.items() if k in item_index)
    idx = np.array([p[0] for p in pairs], dtype=np.int64)
    w = np.array([p[1] for p in pairs], dtype=np.float64)
    cell_kinds = np.array([p[2] for p in pairs], dtype=np.int64)
    w = np.maximum(w, 0.0)
    if weights.max_weight is not None:
        w = np.minimum(w, weights.max_weight)
    if weights.binary:
        w = (w > 0).astype(np.float64)
    nz = w > 0
    had = [i for i, k in kinds.items() if i in item_index and k & policy.mask]
    excluded = np.unique(np.array([item_index[i] for i in had], dtype=np.int32))
    return CustomerHistory(
        idx[nz].astype(np.int32), w[nz].astype(np.float32), excluded, cell_kinds[nz]
    )


def rows_to_csr(histories: list[CustomerHistory], n_items: int) -> sp.csr_matrix:
    """Stack histories into a CSR matrix (the batch input of ``Recommender.recommend``)."""
    indptr = np.zeros(len(histories) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(h.idx) for h in histories])
    indices = np.concatenate([h.idx for h in histories]) if histories else np.empty(0, np.int32)
    data = np.concatenate([h.weights for h in histories]) if histories else np.empty(0, np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(len(histories), n_items))


#: The weighting of online rows (undecayed).
INGEST_WEIGHTS = InteractionWeights()


def weigh_events(
    events: Sequence[Event], weights: InteractionWeights = INGEST_WEIGHTS
) -> np.ndarray:
    """Each event's signed contribution to its customer's history row (float64).

    Examples
    --------
    >>> weigh_events([Event("e", "c", "purchase", 0.0, item_id="i")]).tolist()
    [4.0]
    """
    return event_weights(
        np.array([e.type for e in events], dtype=object),
        np.array([np.nan if e.value is None else e.value for e in events]),
        np.array([np.nan if e.quantity is None else e.quantity for e in events]),
        np.array([e.timestamp for e in events]),
        weights,
    )
