"""The whole storage interface: :class:`Store` is every protocol of :mod:`store.protocols` at once.

Callers that need most of the store (the API, the CLI) take a ``Store``; domain code may take the
narrow protocol it uses. Writes that belong together happen atomically (a batch of events with
its history rows, an erasure, a saved configuration with its event), so a crash never leaves
anything half-written. ``tests/store/`` holds the behaviour every backend passes.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

from store.protocols import (
    AliasStore,
    AnswerStore,
    CaseStore,
    CatalogStore,
    ConfiguratorStore,
    ContactStore,
    CustomerItems,
    CustomerStore,
    ErasureStore,
    EventStore,
    ExperimentStore,
    InsightsStore,
    JobLockStore,
    KeyStore,
    MergeCounts,
    ModelStore,
    ModelVersion,
    PolicyStore,
    QuestionStore,
    SecretStore,
    ServingVersions,
    TenantStore,
)

__all__ = ["CustomerItems", "MergeCounts", "ModelVersion", "ServingVersions", "Store"]


class Store(
    KeyStore,
    TenantStore,
    CatalogStore,
    CustomerStore,
    EventStore,
    ErasureStore,
    PolicyStore,
    ModelStore,
    ExperimentStore,
    InsightsStore,
    ConfiguratorStore,
    JobLockStore,
    ContactStore,
    CaseStore,
    QuestionStore,
    AnswerStore,
    AliasStore,
    SecretStore,
):
    """Every kind of stored data, plus the lifecycle of the connection to it."""

    backend: ClassVar[str] = "abstract"

    @abstractmethod
    def ping(self) -> bool:
        """True when the backing storage answers; False (never an exception) when it does not."""

    def close(self) -> None:
        """Release connections."""
