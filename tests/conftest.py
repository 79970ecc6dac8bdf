from __future__ import annotations

pytest_plugins = ["airflow_provider_instagram.emulator.pytest_plugin"]
