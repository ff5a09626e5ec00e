"""The tenant's insights settings as stored, versioned documents: the value configuration
(``GET/PUT /v1/insights/config``) read by every job run, and the tier perk policy.

Version 0 means "never set": the documented defaults of :class:`~insights.config.ValueConfig`.
A stored document is validated again when read, so a run never uses settings the current code
would refuse.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from insights.config import ValueConfig
from store.protocols import InsightsStore

VALUE_CONFIG = "value_config"
TIER_POLICY = "tier_policy"

M = TypeVar("M", bound=BaseModel)


def load_setting(store: InsightsStore, tenant: str, name: str, model: type[M]) -> tuple[int, M]:
    """The tenant's setting ``name`` validated as ``model``, and its version (0: never set,
    ``model``'s defaults)."""
    found = store.get_insights_setting(tenant, name)
    if found is None:
        return 0, model()
    version, doc = found
    return version, model.model_validate(doc)


def save_setting(store: InsightsStore, tenant: str, name: str, doc: BaseModel) -> int:
    """Store ``doc`` as the tenant's new version of the setting ``name``."""
    return store.put_insights_setting(tenant, name, doc.model_dump(mode="json"))


def load_value_config(store: InsightsStore, tenant: str) -> tuple[int, ValueConfig]:
    """The tenant's value configuration and its version (0 = the defaults, never set)."""
    return load_setting(store, tenant, VALUE_CONFIG, ValueConfig)


def save_value_config(store: InsightsStore, tenant: str, config: ValueConfig) -> int:
    """Store ``config`` as the tenant's new version; the next job run uses it whole."""
    return save_setting(store, tenant, VALUE_CONFIG, config)


def with_overrides(config: ValueConfig, overrides: dict[str, Any] | None) -> ValueConfig:
    """``config`` with some fields replaced (the command line's), validated again."""
    if not overrides:
        return config
    return ValueConfig.model_validate({**config.model_dump(), **overrides})
