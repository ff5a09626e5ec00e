"""Prometheus metrics of the models in serving: answers per version, fallbacks, cache, fold-in, loads.

No metric here has a tenant label (``/metrics`` names no tenant): versions are named by time and
data fingerprint, fallbacks and cache results by kind. With several workers the samples go
through ``PROMETHEUS_MULTIPROC_DIR`` like the HTTP metrics (``atelier serve`` sets it).

Answers and cache lookups are on the hot path, where a Prometheus ``inc()`` (a lock, and a file
write with several workers) costs several times a deque append: they are queued and added up by
:func:`flush`, which the model registry calls at each poll (every ``ATELIER_MODEL_POLL_S`` while
requests come) and ``/metrics`` before each scrape. ``append`` and ``popleft`` are atomic, so no
count is lost between threads.

Examples
--------
>>> count_answer("20250101T000000000Z-1a2b3c4d", None)
>>> count_cache(True)
>>> flush()
2
"""

from __future__ import annotations

from collections import Counter as Tally
from collections import deque
from typing import Any

from prometheus_client import Counter, Histogram

ANSWERS = Counter(
    "atelier_recommendation_answers_total",
    "Recommendation answers served, by model version, experiment arm (none: no experiment) and "
    "fallback kind (none: personalised)",
    ["model_version", "arm", "fallback"],
)
CACHE = Counter(
    "atelier_recommendation_cache_total",
    "Answer-cache lookups of customers' precomputed lists, by result (hit or miss)",
    ["result"],
)
FOLDIN = Histogram(
    "atelier_recommendation_foldin_seconds",
    "Time to fold a customer's history into a factor model's vector",
    buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1),
)
LOAD = Histogram(
    "atelier_model_load_seconds",
    "Time to validate, load and prepare a model version in a worker, by family",
    ["family"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0),
)
LOAD_FAILURES = Counter(
    "atelier_model_load_failures_total",
    "Model versions a worker could not load: refused (its files failed validation) or error",
    ["reason"],
)

#: Every metric name ``/metrics`` exports from this module (the dashboard test checks them).
NAMES = (
    "atelier_recommendation_answers_total",
    "atelier_recommendation_cache_total",
    "atelier_recommendation_foldin_seconds",
    "atelier_model_load_seconds",
    "atelier_model_load_failures_total",
)

#: Answers and lookups not yet added to the metrics: ``(version, fallback)`` or a cache result.
_pending: deque[tuple[str | None, str | None, str | None] | bool] = deque()
#: Flush in line beyond this many (a worker whose registry never polls stays bounded).
_MAX_PENDING = 100_000
_answers: dict[tuple[str | None, str | None, str | None], Any] = {}
_cache = {True: CACHE.labels("hit"), False: CACHE.labels("miss")}


def count_answer(version: str | None, fallback: str | None, arm: str | None = None) -> None:
    """One answer served by ``version`` (None: no model) with ``fallback`` (None: personal),
    by an experiment's ``arm`` (None: no experiment)."""
    _pending.append((version, arm, fallback))
    if len(_pending) > _MAX_PENDING:
        flush()


def count_cache(hit: bool) -> None:
    """One lookup of a customer's precomputed list."""
    _pending.append(hit)


def flush() -> int:
    """Add the queued counts to the metrics; how many there were."""
    tally: Tally[tuple[str | None, str | None, str | None] | bool] = Tally()
    popleft = _pending.popleft
    try:
        while True:
            tally[popleft()] += 1
    except IndexError:
        pass
    for key, n in tally.items():
        if isinstance(key, bool):
            _cache[key].inc(n)
            continue
        child = _answers.get(key)
        if child is None:
            child = _answers[key] = ANSWERS.labels(*(k or "none" for k in key))
        child.inc(n)
    return sum(tally.values())


def observe_foldin(seconds: float) -> None:
    FOLDIN.observe(seconds)


def observe_load(family: str, seconds: float) -> None:
    LOAD.labels(family).observe(seconds)


def count_load_failure(refused: bool) -> None:
    LOAD_FAILURES.labels("refused" if refused else "error").inc()
