"""Shared fixtures: the reference families compiled once per test session."""

import pytest

from configurator import Configurator, reference_families


@pytest.fixture(scope="session")
def jeans() -> Configurator:
    return Configurator(reference_families()["original-spin"])


@pytest.fixture(scope="session")
def logistics() -> Configurator:
    return Configurator(reference_families()["logistics-bundle"])
