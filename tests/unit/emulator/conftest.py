from __future__ import annotations

from typing import Any

import pytest
import requests

from airflow_provider_instagram.emulator import EmulatorClient, InstagramEmulator


class Api:
    """A plain ``requests`` client of the emulator, as any Instagram client would talk to it."""

    def __init__(self, emulator: InstagramEmulator, control: EmulatorClient) -> None:
        self.url = emulator.url
        self.control = control
        self.http = requests.Session()
        self.seed = control.seed()

    @property
    def token(self) -> str:
        return str(self.seed["accounts"][0]["access_token"])

    @property
    def user_id(self) -> str:
        return str(self.seed["accounts"][0]["id"])

    def reset(self, **config: Any) -> dict[str, Any]:
        self.seed = self.control.reset(**config)
        return self.seed

    def get(self, path: str, token: str | None = None, **params: Any) -> requests.Response:
        if token is not None:
            params["access_token"] = token
        return self.http.get(f"{self.url}{path}", params=params, timeout=30, allow_redirects=False)

    def me(self, **params: Any) -> requests.Response:
        return self.get("/me", self.token, **params)


@pytest.fixture
def api(instagram_emulator: InstagramEmulator, emulator_client: EmulatorClient) -> Api:
    return Api(instagram_emulator, emulator_client)
