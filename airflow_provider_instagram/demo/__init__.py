"""The ``airflow-instagram demo`` command: the provider's whole job on a local Airflow against the emulator."""

from __future__ import annotations

from airflow_provider_instagram.demo.runner import run_demo, stop_demo

__all__ = ["run_demo", "stop_demo"]
