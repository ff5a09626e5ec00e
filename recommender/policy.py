"""The tenant's recommendation policy: which interactions mean "the customer already has it".

One rule for serving and for offline evaluation: an item is excluded from a customer's
recommendations when the customer has an interaction of a kind the policy names on it
(:meth:`RecommendationPolicy.excludes_kinds` on a history row's ``kinds`` masks,
:meth:`RecommendationPolicy.excludes_types` on event types, both through the same bit mask).
By default purchased, rated, disliked and returned items are excluded; viewed, carted,
clicked or configured ones stay candidates. ``allow_repurchase`` (consumables) takes
``purchase`` out of the rule.

Reasons name the strongest interaction a history item comes from (:func:`reason_type`): an
item both viewed and bought is explained as bought, one only viewed never is.

Examples
--------
>>> policy = RecommendationPolicy.from_document({})
>>> sorted(policy.exclude_interacted), policy.allow_repurchase
(['dislike', 'purchase', 'rating', 'return'], False)
>>> policy.excludes_types(np.array(["view", "purchase", "rating"], dtype=object)).tolist()
[False, True, True]
>>> RecommendationPolicy.from_document({"allow_repurchase": True}).excludes_kinds(
...     np.array([kind_bit("purchase"), kind_bit("return")])).tolist()
[False, True]
>>> reason_type(kind_bit("view") | kind_bit("purchase")), reason_type(kind_bit("view"))
('because_you_bought', 'because_you_viewed')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from core.records import INTERACTION_KINDS, EventFrame, kind_bit

#: What a customer "already has" unless the tenant says otherwise.
DEFAULT_EXCLUDED: tuple[str, ...] = ("purchase", "rating", "dislike", "return")

#: Reason per interaction kind, strongest first: the first kind an item has names its reason.
_REASONS: tuple[tuple[str, str], ...] = (
    ("purchase", "because_you_bought"),
    ("rating", "because_you_rated"),
    ("add_to_cart", "because_you_added_to_cart"),
    ("configure", "because_you_configured"),
    ("click", "because_you_viewed"),
    ("view", "because_you_viewed"),
)

#: A history item with no recorded kind (rows kept before kinds were) is explained neutrally.
INTERACTED = "because_you_interacted"


def reason_type(kinds: int) -> str:
    """The reason a history item with interaction mask ``kinds`` gives (strongest kind)."""
    for kind, reason in _REASONS:
        if kinds & kind_bit(kind):
            return reason
    return INTERACTED


@dataclass(frozen=True)
class RecommendationPolicy:
    """A tenant's rule of what is never recommended again (see the module docstring).

    Parameters
    ----------
    exclude_interacted
        Interaction kinds (event types other than ``impression``) that exclude the item.
    allow_repurchase
        Purchased items may come back (``purchase`` no longer excludes).
    """

    exclude_interacted: frozenset[str] = frozenset(DEFAULT_EXCLUDED)
    allow_repurchase: bool = False
    #: The ``kind_bit`` mask of the kinds that exclude (what caches compare: one int).
    mask: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.exclude_interacted) - set(INTERACTION_KINDS))
        if unknown:
            raise ValueError(f"not interaction kinds: {', '.join(unknown)}")
        kinds = set(self.exclude_interacted)
        if self.allow_repurchase:
            kinds.discard("purchase")
        object.__setattr__(self, "mask", sum(kind_bit(k) for k in kinds))

    @classmethod
    def from_document(cls, doc: Mapping[str, Any] | None) -> RecommendationPolicy:
        """The policy of a stored document (``PUT /v1/policy``); defaults for what it omits."""
        doc = doc or {}
        kinds: Iterable[str] = doc.get("exclude_interacted") or ()
        if doc.get("exclude_interacted") is None:
            kinds = DEFAULT_EXCLUDED
        return cls(frozenset(kinds), bool(doc.get("allow_repurchase", False)))

    def excludes_kinds(self, kinds: np.ndarray) -> np.ndarray:
        """Boolean mask: which history cells (``kinds`` masks) the customer already has."""
        return (np.asarray(kinds, dtype=np.int64) & self.mask) != 0

    def excludes_types(self, types: np.ndarray) -> np.ndarray:
        """Boolean mask: which events (their ``type``) make their item one the customer has."""
        bits = np.fromiter((kind_bit(str(t)) for t in types), dtype=np.int64, count=len(types))
        return self.excludes_kinds(bits)

    def excluded_matrix(
        self, frame: EventFrame, customer_ids: np.ndarray, item_ids: np.ndarray
    ) -> sp.csr_matrix:
        """Customer x item 0/1 matrix of what each customer already has, by this policy, from
        ``frame`` (offline evaluation: the training events), in the given id spaces."""
        keep = self.excludes_types(frame.type) & (frame.item_id != "")
        rows = _codes(frame.customer_id[keep], customer_ids)
        cols = _codes(frame.item_id[keep], item_ids)
        ok = (rows >= 0) & (cols >= 0)
        m = sp.csr_matrix(
            (np.ones(int(ok.sum()), np.float32), (rows[ok], cols[ok])),
            shape=(len(customer_ids), len(item_ids)),
        )
        m.data[:] = 1.0  # duplicates summed: back to 0/1
        return m


def _codes(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    index = {str(k): i for i, k in enumerate(np.asarray(ids).tolist())}
    return np.fromiter((index.get(str(v), -1) for v in values), dtype=np.int64, count=len(values))


#: The policy of a tenant that never set one.
DEFAULT_POLICY = RecommendationPolicy()
