"""Fixtures of the customer-value tests (shared with the insights job's tests)."""

from tests.value_fixtures import cdnow_dir, shop, simulate

__all__ = ["cdnow_dir", "shop", "simulate"]
