"""The token chain, the authorization URL and the connection checks, against the emulator."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from airflow_provider_instagram.emulator import EmulatorClient
from airflow_provider_instagram.exceptions import InstagramAuthError, InstagramConfigError
from airflow_provider_instagram.hooks.instagram import InstagramHook
from tests.support.instagram import CLOCK, FAST


def test_authorization_url_per_flavour(connect, emulator_client: EmulatorClient) -> None:
    hook = connect()
    url = hook.get_authorization_url("xyz")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(emulator_client.seed()["authorize_url"] + "?")
    assert query["scope"] == ["instagram_business_basic,instagram_business_manage_insights"]
    assert query["state"] == ["xyz"]
    emulator_client.reset(api="basic_display", auto_consent=True)
    hook = connect()
    url = hook.get_authorization_url("s", scopes=["user_profile", "user_media"])
    assert parse_qs(urlsplit(url).query)["scope"] == ["user_profile,user_media"]
    assert requests.get(url, allow_redirects=False, timeout=30).status_code == 302


@pytest.mark.parametrize("flavour", [{}, {"flat_token_response": True}, {"api": "basic_display"}],
                         ids=["data-wrapped", "flat", "basic-display"])  # fmt: skip
def test_whole_chain_from_code_to_long_lived(connect, emulator_client: EmulatorClient, flavour: dict) -> None:
    seed = emulator_client.reset(auto_consent=True, clock=CLOCK.timestamp(), **flavour)
    hook = connect(token="")
    redirect = requests.get(hook.get_authorization_url("st"), allow_redirects=False, timeout=30).headers["location"]
    code = redirect.split("code=")[1].split("&")[0].replace("%23", "#")
    token = hook.get_long_lived_token(code + ("#_" if not code.endswith("#_") else ""))
    assert token.user_id == seed["accounts"][0]["id"]
    assert token.expires_in == 60 * 86400
    assert token.expires_at is not None
    assert token.expires_at - CLOCK == pytest.approx(timedelta(days=60), abs=timedelta(minutes=1))
    assert token.access_token not in repr(token)
    assert connect(token=token.access_token).get_profile(["id"])["id"] == token.user_id


def test_exchange_code_strips_the_hash_and_reports_permissions(connect, emulator_client: EmulatorClient) -> None:
    hook = connect(token="")
    short = hook.exchange_code(emulator_client.issue_code() + "#_")
    assert short.expires_in == 3600
    assert short.permissions == ("instagram_business_basic", "instagram_business_manage_insights")
    with pytest.raises(InstagramAuthError, match="Matching code was not found") as info:
        hook.exchange_code("AQnotacode")
    assert info.value.endpoint == "POST /oauth/access_token"


def test_refresh_writes_nothing_and_returns_the_new_expiry(connect, emulator_client: EmulatorClient) -> None:
    hook = connect()
    emulator_client.advance_clock(2 * 86400)
    token = hook.refresh_long_lived_token()
    assert token.access_token == emulator_client.seed()["accounts"][0]["access_token"]
    assert token.expires_in == 60 * 86400


def test_refresh_of_an_expired_token_is_an_auth_error_with_a_reason(connect, emulator_client) -> None:
    hook = connect()
    emulator_client.advance_clock(61 * 86400)
    with pytest.raises(InstagramAuthError) as info:
        hook.refresh_long_lived_token()
    assert info.value.reason == "the token expired"
    assert (info.value.code, info.value.subcode) == (190, 463)
    assert info.value.fbtrace_id


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"api": "graph"}, "'api'"), ({"api_version": "25"}, "'api_version'"), ({"timeout": "soon"}, "'timeout'")],
    ids=["api", "api_version", "timeout"],
)
def test_malformed_fields_name_the_connection_and_field(connect, extra: dict, field: str) -> None:
    with pytest.raises(InstagramConfigError, match=f"Connection 'instagram_default'.*{field}"):
        _ = connect(**extra).params


def test_missing_token_and_secret_name_the_fix(connect, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InstagramConfigError, match=r"has no access token .*password"):
        connect(token="").get_profile()
    hook = connect(client_secret="")
    with pytest.raises(InstagramConfigError, match=r"has no app secret.*app_conn_id"):
        hook.exchange_for_long_lived_token("IGAAx")


@pytest.mark.parametrize("app_type", ["instagram_app", "instagram"])  # an app connection of before its own type
def test_app_connection_supplies_app_id_secret_and_redirect(connect, emulator_client, monkeypatch, app_type) -> None:
    seed = emulator_client.seed()
    app = {"conn_type": app_type, "login": seed["client_id"], "password": seed["client_secret"],
           "extra": {"redirect_uri": seed["redirect_uri"]}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_INSTAGRAM_APP", json.dumps(app))
    account = {"conn_type": "instagram", "host": seed["graph_url"], "password": "",
               "extra": {"app_conn_id": "instagram_app", "oauth_url": seed["oauth_url"]}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_INSTAGRAM_DEFAULT", json.dumps(account))
    hook = InstagramHook(retry_policy=FAST)
    assert hook.params.client_id == seed["client_id"] and hook.params.redirect_uri == seed["redirect_uri"]
    token = hook.get_long_lived_token(emulator_client.issue_code())
    assert token.expires_in == 60 * 86400
