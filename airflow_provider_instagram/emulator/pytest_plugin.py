"""Pytest fixtures: one emulator per session, reset before every test that asks for it.

Enable with ``pytest_plugins = ["airflow_provider_instagram.emulator.pytest_plugin"]`` in a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_instagram.emulator.server import EmulatorClient, InstagramEmulator


@pytest.fixture(scope="session")
def instagram_emulator_server() -> Iterator[InstagramEmulator]:
    """The session's emulator (seed 0, two accounts of 30 media, Instagram Login)."""
    with InstagramEmulator() as emulator:
        yield emulator


@pytest.fixture
def instagram_emulator(instagram_emulator_server: InstagramEmulator) -> InstagramEmulator:
    """The session's emulator, reset to its start configuration (faults cleared, clock back to now)."""
    instagram_emulator_server.backend.reset(instagram_emulator_server.config)
    return instagram_emulator_server


@pytest.fixture
def emulator_client(instagram_emulator: InstagramEmulator) -> EmulatorClient:
    """A control-API client for the reset emulator."""
    return EmulatorClient(instagram_emulator.url)
