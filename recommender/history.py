"""Online history rows: what each new event adds to its customer's row in the store.

The store accumulates these weights per (customer, item) in the same transaction that stores the
event, so the next recommendation already sees it. The weighting is the training one
(:mod:`training.interactions`), without time decay: decay, when a model uses it, is applied when
the row is read.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from store.records import Event
from training.interactions import InteractionWeights, event_weights

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
