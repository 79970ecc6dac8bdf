"""Graph error envelopes, the code-190 family, and rate limiting with usage headers."""

from __future__ import annotations

import json

import pytest

from tests.unit.emulator.conftest import Api


def test_garbage_token_is_190_without_subcode_and_www_authenticate(api: Api) -> None:
    answer = api.get("/me", "IGAAnotatoken")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == 190
    assert "error_subcode" not in error
    assert error["type"] == "OAuthException"
    assert error["fbtrace_id"] == answer.headers["x-fb-request-id"]
    assert answer.headers["www-authenticate"].startswith('OAuth "Facebook Platform" "invalid_token"')


def test_missing_token_is_code_104(api: Api) -> None:
    assert api.get("/me").json()["error"]["code"] == 104


@pytest.mark.parametrize(
    ("reason", "subcode", "text"),
    [("password_changed", 460, "changed their password"), ("revoked", 458, "has not authorized"),
     ("expired", 463, "Session has expired")],
    ids=["password", "revoked", "expired"],
)  # fmt: skip
def test_invalidated_tokens_carry_their_subcode(api: Api, reason: str, subcode: int, text: str) -> None:
    assert api.control.invalidate(api.user_id, reason) == 1
    answer = api.me()
    assert answer.status_code == 400
    assert "www-authenticate" in answer.headers
    error = answer.json()["error"]
    assert (error["code"], error["error_subcode"]) == (190, subcode)
    assert text in error["message"]


def test_expired_token_after_sixty_days_and_optional_subcode(api: Api) -> None:
    api.control.advance_clock(60 * 86400 + 1)
    error = api.me().json()["error"]
    assert error["code"] == 190
    assert error["error_subcode"] == 463
    assert "The current time is" in error["message"]
    api.reset(expired_subcode=False)
    api.control.advance_clock(61 * 86400)
    error = api.me().json()["error"]
    assert error["code"] == 190
    assert "error_subcode" not in error


def _usage(header: str) -> dict:
    return json.loads(header)


def test_business_use_case_usage_header_and_80002_at_the_budget(api: Api) -> None:
    api.reset(rate_limit_budget=4)
    seen = [_usage(api.me().headers["x-business-use-case-usage"]) for _ in range(4)]
    account_key = api.seed["accounts"][0]["professional_account_id"]
    counts = [usage[account_key][0]["call_count"] for usage in seen]
    assert counts == [25, 50, 75, 100]
    assert seen[0][account_key][0]["type"] == "instagram"
    limited = api.me()
    assert limited.status_code == 400
    assert limited.json()["error"]["code"] == 80002
    regain = _usage(limited.headers["x-business-use-case-usage"])[account_key][0]["estimated_time_to_regain_access"]
    assert regain == 1440
    api.control.advance_clock(86400 + 1)
    assert api.me().status_code == 200


def test_budget_is_per_app_and_user(api: Api) -> None:
    api.reset(rate_limit_budget=2, accounts=2)
    other = api.seed["accounts"][1]["access_token"]
    api.me()
    api.me()
    assert api.me().json()["error"]["code"] == 80002
    assert api.get("/me", other).status_code == 200


def test_basic_display_uses_x_app_usage_and_code_17(api: Api) -> None:
    api.reset(api="basic_display", rate_limit_budget=2)
    first = api.me()
    assert _usage(first.headers["x-app-usage"]) == {"call_count": 50, "total_time": 25, "total_cputime": 25}
    assert "x-business-use-case-usage" not in first.headers
    api.me()
    assert api.me().json()["error"]["code"] == 17
    api.control.advance_clock(3601)  # Platform limits roll over an hour
    assert api.me().status_code == 200


@pytest.mark.parametrize("code", [4, 17, 613])
def test_rate_limit_code_and_status_are_configurable(api: Api, code: int) -> None:
    api.reset(rate_limit_budget=1, rate_limit_error_code=code, rate_limit_http_status=429)
    api.me()
    limited = api.me()
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == code


def test_usage_headers_can_start_late_and_budget_can_be_off(api: Api) -> None:
    api.reset(rate_limit_budget=10, usage_header_min_percent=50)
    assert "x-business-use-case-usage" not in api.me().headers
    for _ in range(3):
        api.me()
    assert "x-business-use-case-usage" in api.me().headers
    api.reset(rate_limit_budget=None)
    assert "x-business-use-case-usage" not in api.me().headers
