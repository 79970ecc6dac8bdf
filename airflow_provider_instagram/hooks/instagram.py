"""The Instagram hook: connection handling for ``conn_type="instagram"``.

The token chain and the media endpoints arrive with the next milestone; this module already
declares the connection type so that Airflow discovers the provider and renders its form.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook


class InstagramHook(BaseHook):
    """Interact with Instagram's user-token API (Instagram API with Instagram Login, or Basic Display).

    :param instagram_conn_id: the Airflow connection holding the account's long-lived token.
    """

    conn_name_attr = "instagram_conn_id"
    default_conn_name = "instagram_default"
    conn_type = "instagram"
    hook_name = "Instagram"

    def __init__(self, *, instagram_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instagram_conn_id = instagram_conn_id
