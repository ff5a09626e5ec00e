"""Attribute similarity for cold-start items, built once at model load from the catalogue.

Each item becomes a TF-IDF vector over tokens ``category=<c>`` and ``<key>=<value>`` (list values
give one token per element); cosine similarity between these vectors serves items the model has
never seen: their similar items, and their scores as a weighted mix of their nearest trained items.

Examples
--------
>>> idx = AttributeIndex.build([{"category": "shoe", "attributes": {"color": "red"}},
...                             {"category": "shoe", "attributes": {"color": "blue"}},
...                             {"category": "hat", "attributes": {"color": "red"}}])
>>> s = idx.similar_to(0, np.array([1, 2])); bool(s[0] == s[1] and 0 < s[0] < 1)
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp


def item_tokens(category: str | None, attributes: Mapping[str, Any] | None) -> list[str]:
    toks = [f"category={category}"] if category else []
    for key, value in sorted((attributes or {}).items()):
        values = value if isinstance(value, list | tuple | set) else [value]
        for v in values:
            if isinstance(v, str | int | float | bool):
                toks.append(f"{key}={v}")
    return toks


@dataclass
class AttributeIndex:
    """Row-normalised TF-IDF item x token matrix (``vectors``)."""

    vectors: sp.csr_matrix

    @classmethod
    def build(cls, entries: Sequence[Mapping[str, Any]]) -> AttributeIndex:
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for r, e in enumerate(entries):
            for t in set(item_tokens(e.get("category"), e.get("attributes"))):
                rows.append(r)
                cols.append(vocab.setdefault(t, len(vocab)))
        m = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (rows, cols)), shape=(len(entries), len(vocab))
        )
        df = np.asarray((m > 0).sum(axis=0)).ravel()
        idf = np.log((1.0 + len(entries)) / (1.0 + df)) + 1.0
        m = m @ sp.diags(idf)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return cls(sp.csr_matrix(sp.diags(1.0 / norms) @ m, dtype=np.float32))

    def similar_to(self, row: int, candidates: np.ndarray) -> np.ndarray:
        """Cosine similarity of item ``row`` to each candidate row."""
        return np.asarray((self.vectors[candidates] @ self.vectors[row].T).toarray()).ravel()

    def proxies(self, rows: np.ndarray, candidates: np.ndarray, m: int = 10) -> sp.csr_matrix:
        """(len(rows) x len(candidates)) weights: each row's ``m`` most similar candidates,
        weights summing to 1 (an all-zero row when nothing is shared)."""
        if len(rows) == 0 or len(candidates) == 0:
            return sp.csr_matrix((len(rows), len(candidates)), dtype=np.float32)
        sims = (self.vectors[rows] @ self.vectors[candidates].T).tocsr()
        out_r, out_c, out_v = [], [], []
        for i in range(sims.shape[0]):
            lo, hi = sims.indptr[i], sims.indptr[i + 1]
            if hi == lo:
                continue
            vals, cols = sims.data[lo:hi], sims.indices[lo:hi]
            top = np.argsort(-vals, kind="stable")[:m]
            w = vals[top] / vals[top].sum()
            out_r.extend([i] * len(top))
            out_c.extend(cols[top].tolist())
            out_v.extend(w.tolist())
        return sp.csr_matrix(
            (np.array(out_v, dtype=np.float32), (out_r, out_c)),
            shape=(len(rows), len(candidates)),
        )
