"""The one parser of an ``instagram`` connection's extras, and the app-secret rule."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from airflow.sdk import Connection

from airflow_provider_instagram.account.extras import app_secret, parse_extras
from airflow_provider_instagram.exceptions import InstagramConfigError
from airflow_provider_instagram.hooks.instagram import InstagramHook


@pytest.mark.parametrize("raw", [None, "", "{}", {}])
def test_empty_extras(raw: object) -> None:
    assert parse_extras(raw, "ig") == {}  # type: ignore[arg-type]


def test_the_airflow_2_prefix_is_read_as_the_plain_key() -> None:
    raw = json.dumps({"extra__instagram__redirect_uri": "https://x/cb", "api_version": "v25.0"})
    assert parse_extras(raw, "ig") == {"redirect_uri": "https://x/cb", "api_version": "v25.0"}


@pytest.mark.parametrize(
    ("raw", "words"), [("[1, 2]", "a JSON list, not an object"), ('"text"', "a JSON str"), ("{oops", "not valid JSON")]
)
def test_extras_that_are_no_object_name_the_connection_and_the_fix(raw: str, words: str) -> None:
    with pytest.raises(InstagramConfigError, match=rf"Connection 'ig_shop': its extra is {words}") as caught:
        parse_extras(raw, "ig_shop")
    assert "JSON object" in str(caught.value)


def test_a_hook_over_a_connection_whose_extra_is_an_array_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """It used to end in an AttributeError deep inside the hook."""
    conn = Connection(conn_id="ig_shop", conn_type="instagram", password="t", extra="[1, 2]")
    with pytest.raises(InstagramConfigError, match="Connection 'ig_shop': its extra is a JSON list"):
        InstagramHook(instagram_conn_id="ig_shop", connection=conn).params  # noqa: B018


def test_a_field_of_the_wrong_type_names_it() -> None:
    conn = Connection(conn_id="ig_shop", conn_type="instagram", password="t", extra=json.dumps({"redirect_uri": [1]}))
    with pytest.raises(InstagramConfigError, match="Connection 'ig_shop': extra 'redirect_uri' is a list"):
        InstagramHook(instagram_conn_id="ig_shop", connection=conn).params  # noqa: B018


@pytest.mark.parametrize(
    ("password", "extra", "secret"),
    [("from-password", "{}", "from-password"), ("from-password", '{"client_secret": "from-extra"}', "from-extra"),
     (None, "{}", None)],
)  # fmt: skip
def test_the_app_secret_rule(password: str | None, extra: str, secret: str | None) -> None:
    app = SimpleNamespace(conn_id="instagram_app", password=password, extra=extra)
    assert app_secret(app) == secret
