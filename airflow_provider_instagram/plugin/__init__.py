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


class _SlashRedirect:
    """``/instagram`` without its slash is Airflow's single-page app (a 404 page): send it to ``/instagram/``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == URL_PREFIX and scope["path"] != f"{URL_PREFIX}/":
            query = scope.get("query_string", b"")
            location = f"{scope.get('root_path', '')}{URL_PREFIX}/" + (f"?{query.decode('latin-1')}" if query else "")
            await send(
                {
                    "type": "http.response.start",
                    "status": 307,
                    "headers": [(b"location", location.encode("latin-1")), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


class InstagramPlugin(AirflowPlugin):
    """The Instagram page inside Airflow's UI (a navigation entry): every account's token health, connecting,
    reconnecting and testing accounts (``/instagram/``); and Meta's deauthorize and data-deletion callbacks
    (``/instagram/meta/deauthorize``, ``/instagram/meta/data-deletion``)."""

    name = "instagram"
    fastapi_apps = [{"app": _LazyApp(), "url_prefix": URL_PREFIX, "name": "Instagram accounts"}]
    fastapi_root_middlewares = [{"middleware": _SlashRedirect, "name": "Instagram page: /instagram to /instagram/"}]
    # An entry of the navigation's Browse menu, opening the page in a tab of its own. Not framed in the UI (no
    # url_route): Airflow's frame is sandboxed without allow-top-navigation, and Instagram's authorization window
    # refuses to be framed, so connecting an account could not work inside it. Not a top-level entry either: Airflow
    # 3.3 renders an external top-level entry as a button that opens nothing.
    external_views = [
        {"name": "Instagram accounts", "href": f"{URL_PREFIX}/", "destination": "nav", "category": "browse"},
    ]
