"""The authorization window, the code exchange, the long-lived exchange and refresh."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.unit.emulator.conftest import Api

REDIRECT = "http://localhost:8765/instagram/callback"


def authorize(api: Api, **overrides: str) -> dict[str, str]:
    params = {
        "client_id": api.seed["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "instagram_business_basic", "state": "st-123",
    }  # fmt: skip
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def code_from(location: str) -> str:
    assert location.endswith("#_"), location
    return parse_qs(urlsplit(location).query)["code"][0]


def exchange(api: Api, auth_code: str, **overrides: str) -> tuple[int, dict]:
    form = {
        "client_id": api.seed["client_id"], "client_secret": api.seed["client_secret"],
        "grant_type": "authorization_code", "redirect_uri": REDIRECT, "code": auth_code,
    }  # fmt: skip
    form.update(overrides)
    answer = api.http.post(f"{api.url}/oauth/access_token", data=form, timeout=30)
    return answer.status_code, answer.json()


def test_consent_page_allow_redirects_with_code_state_and_hash(api: Api) -> None:
    page = api.get("/oauth/authorize", **authorize(api))
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "id='allow'" in page.text
    assert "id='deny'" in page.text
    form = dict(re.findall(r"name='([^']+)' value='([^']*)'", page.text))
    form["decision"] = "allow"
    answer = api.http.post(f"{api.url}/oauth/authorize", data=form, allow_redirects=False, timeout=30)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?code=")
    assert parse_qs(urlsplit(location).query)["state"] == ["st-123"]
    assert code_from(location).startswith("AQ")


def test_consent_page_deny_gives_the_access_denied_triple(api: Api) -> None:
    form = {**authorize(api), "decision": "deny"}
    answer = api.http.post(f"{api.url}/oauth/authorize", data=form, allow_redirects=False, timeout=30)
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["error_reason"] == ["user_denied"]
    assert query["error_description"] == ["The user denied your request"]
    assert query["state"] == ["st-123"]


def test_deny_without_state_echo_when_configured(api: Api) -> None:
    api.reset(echo_state_on_deny=False)
    form = {**authorize(api), "decision": "deny"}
    answer = api.http.post(f"{api.url}/oauth/authorize", data=form, allow_redirects=False, timeout=30)
    assert "state" not in parse_qs(urlsplit(answer.headers["location"]).query)


def test_auto_consent_redirects_at_once_and_can_choose_the_account(api: Api) -> None:
    api.reset(auto_consent=True, accounts=3)
    second = api.seed["accounts"][1]
    answer = api.get("/oauth/authorize", **authorize(api, login_as=second["username"]))
    assert answer.status_code == 302
    status, body = exchange(api, code_from(answer.headers["location"]))
    assert status == 200
    assert body["data"][0]["user_id"] == second["id"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"client_id": "123"}, "Invalid platform app"),
        ({"redirect_uri": REDIRECT + "/"}, "Invalid redirect_uri"),
        ({"scope": "instagram_business_basic,user_media"}, "Invalid Scopes: user_media"),
        ({"scope": "instagram_business_manage_comments"}, "Invalid Scopes"),
        ({"response_type": "token"}, "Invalid response_type"),
    ],
    ids=["client_id", "redirect_uri", "foreign-scope", "missing-basic", "response_type"],
)
def test_authorize_validation_shows_an_error_page_and_never_redirects(api: Api, override: dict, message: str) -> None:
    api.reset(auto_consent=True)
    answer = api.get("/oauth/authorize", **authorize(api, **override))
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert message in answer.text


def test_code_is_single_use_and_errors_use_the_old_format(api: Api) -> None:
    code = api.control.issue_code()
    status, body = exchange(api, code)
    assert status == 200
    assert body["data"][0]["access_token"].startswith("IGAA")
    assert body["data"][0]["permissions"] == "instagram_business_basic,instagram_business_manage_insights"
    assert isinstance(body["data"][0]["user_id"], str)
    status, body = exchange(api, code)
    assert status == 400
    assert body == {
        "error_type": "OAuthException", "code": 400,
        "error_message": "Matching code was not found or was already used",
    }  # fmt: skip


def test_code_expires_after_one_hour(api: Api) -> None:
    code = api.control.issue_code()
    api.control.advance_clock(3601)
    status, body = exchange(api, code)
    assert status == 400
    assert body["error_type"] == "OAuthException"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("client_secret", "wrong", "Invalid Client Secret"),
        ("redirect_uri", "http://localhost:8765/other", "redirect_uri"),
        ("grant_type", "password", "grant_type"),
        ("code", "garbage#_", "Matching code was not found"),
    ],
    ids=["secret", "redirect", "grant", "garbage-code"],
)
def test_code_exchange_rejects_bad_fields(api: Api, field: str, value: str, message: str) -> None:
    status, body = exchange(api, api.control.issue_code(), **{field: value})
    assert status == 400
    assert message in body["error_message"]


def test_flat_shape_under_instagram_login(api: Api) -> None:
    api.reset(flat_token_response=True)
    status, body = exchange(api, api.control.issue_code())
    assert status == 200
    assert set(body) == {"access_token", "user_id", "permissions"}


def test_basic_display_exchange_is_flat_with_a_numeric_user_id(api: Api) -> None:
    api.reset(api="basic_display")
    code = api.control.issue_code(scope="user_profile,user_media")
    status, body = exchange(api, code)
    assert status == 200
    assert set(body) == {"access_token", "user_id"}
    assert isinstance(body["user_id"], int)
    assert str(body["user_id"]) == api.seed["accounts"][0]["id"]
    assert body["access_token"].startswith("IGQVJ")


def _short_lived(api: Api) -> str:
    return str(exchange(api, api.control.issue_code())[1]["data"][0]["access_token"])


def test_short_lived_token_lives_one_hour(api: Api) -> None:
    short = _short_lived(api)
    assert api.get("/me", short).status_code == 200
    api.control.advance_clock(3601)
    answer = api.get("/me", short)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 190


def test_exchange_for_long_lived_needs_the_secret(api: Api) -> None:
    short = _short_lived(api)
    missing = api.get("/access_token", short, grant_type="ig_exchange_token")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == 100
    wrong = api.get("/access_token", short, grant_type="ig_exchange_token", client_secret="nope")
    assert wrong.json()["error"]["code"] == 101
    good = api.get(
        "/v25.0/access_token", short, grant_type="ig_exchange_token", client_secret=api.seed["client_secret"]
    )
    assert good.status_code == 200
    body = good.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 60 * 86400
    assert api.get("/me", body["access_token"]).status_code == 200


def test_refresh_needs_a_long_lived_token_at_least_a_day_old(api: Api) -> None:
    young = api.get("/refresh_access_token", api.token, grant_type="ig_refresh_token")
    assert young.status_code == 400
    assert young.json()["error"]["code"] == 100
    short = api.get("/refresh_access_token", _short_lived(api), grant_type="ig_refresh_token")
    assert short.json()["error"]["code"] == 190
    api.control.advance_clock(86400 + 1)
    ok = api.get("/refresh_access_token", api.token, grant_type="ig_refresh_token")
    assert ok.status_code == 200
    assert ok.json() == {"access_token": api.token, "token_type": "bearer", "expires_in": 60 * 86400}


def test_refresh_extends_to_sixty_days_from_the_refresh(api: Api) -> None:
    api.control.advance_clock(50 * 86400)
    assert api.get("/refresh_access_token", api.token, grant_type="ig_refresh_token").status_code == 200
    api.control.advance_clock(59 * 86400)
    assert api.me().status_code == 200  # 109 days after issue, 59 after the refresh
    api.control.advance_clock(86400 + 1)
    expired = api.get("/refresh_access_token", api.token, grant_type="ig_refresh_token")
    assert expired.status_code == 400
    assert expired.json()["error"]["error_subcode"] == 463


def test_refresh_can_rotate_and_the_old_token_keeps_working_until_expiry(api: Api) -> None:
    api.reset(refresh_rotates_token=True)
    api.control.advance_clock(2 * 86400)
    fresh = api.get("/refresh_access_token", api.token, grant_type="ig_refresh_token").json()["access_token"]
    assert fresh != api.token
    assert api.get("/me", fresh).status_code == 200
    assert api.me().status_code == 200
    api.control.advance_clock(59 * 86400)
    assert api.me().status_code == 400
    assert api.get("/me", fresh).status_code == 200


def test_refresh_only_answers_get(api: Api) -> None:
    answer = api.http.post(f"{api.url}/refresh_access_token", params={"access_token": api.token}, timeout=30)
    assert answer.status_code == 400
    assert "method type: post" in answer.json()["error"]["message"]
