"""A local stand-in for Instagram's servers (graph.instagram.com, api.instagram.com and the CDN).

Test-only: nothing in the provider's runtime imports this package. Start it with
``airflow-instagram emulator``, with :class:`InstagramEmulator` as a context manager, or with the
``instagram_emulator`` pytest fixture (``pytest_plugins = ["airflow_provider_instagram.emulator.pytest_plugin"]``).
"""

from __future__ import annotations

from airflow_provider_instagram.emulator.backend import EmulatorBackend
from airflow_provider_instagram.emulator.config import EmulatorConfig
from airflow_provider_instagram.emulator.server import EmulatorClient, InstagramEmulator, serve_forever
from airflow_provider_instagram.emulator.signing import make_signed_request

__all__ = [
    "EmulatorBackend",
    "EmulatorClient",
    "EmulatorConfig",
    "InstagramEmulator",
    "make_signed_request",
    "serve_forever",
]
