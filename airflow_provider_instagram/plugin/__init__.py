"""The Airflow plugin: onboarding pages and Meta's callbacks, mounted on the API server under ``/instagram``."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/instagram"


class _LazyApp:
    """Builds the FastAPI app on its first request. Airflow imports every plugin in every task process (for
    macros); those must not pay for FastAPI and these routes."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_provider_instagram.plugin.app import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class InstagramPlugin(AirflowPlugin):
    """Connect Instagram accounts from the browser (``/instagram/``) and answer Meta's deauthorize and
    data-deletion callbacks (``/instagram/meta/deauthorize``, ``/instagram/meta/data-deletion``)."""

    name = "instagram"
    fastapi_apps = [{"app": _LazyApp(), "url_prefix": URL_PREFIX, "name": "Instagram accounts"}]
