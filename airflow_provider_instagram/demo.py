"""``airflow-instagram demo``: the provider's job on embedded defaults, against the local emulator.

Today it walks the whole token chain that every later step stands on (authorization window,
code, short-lived token, long-lived token, refresh 50 days later) and reads each account's media,
printing each step. Tokens are shown only as a short fingerprint.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests


def fingerprint(token: str) -> str:
    """What the demo prints instead of a token: a short hash that tells tokens apart."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:12]


def _step(number: int, text: str) -> None:
    print(f"[{number}] {text}", flush=True)


def _token_chain(http: requests.Session, seed: dict[str, Any], account: dict[str, Any]) -> str:
    base = seed["graph_url"]
    params = {
        "client_id": seed["client_id"],
        "redirect_uri": seed["redirect_uri"],
        "response_type": "code",
        "scope": "instagram_business_basic",
        "state": "demo",
        "login_as": account["username"],
    }
    redirect = http.get(seed["authorize_url"], params=params, allow_redirects=False, timeout=30)
    code = parse_qs(urlsplit(redirect.headers["location"]).query)["code"][0]
    form = {
        "client_id": seed["client_id"],
        "client_secret": seed["client_secret"],
        "grant_type": "authorization_code",
        "redirect_uri": seed["redirect_uri"],
        "code": code,
    }
    short = http.post(f"{seed['oauth_url']}/oauth/access_token", data=form, timeout=30).json()["data"][0]
    exchange = {"grant_type": "ig_exchange_token", "client_secret": seed["client_secret"]}
    exchange["access_token"] = short["access_token"]
    long_lived = http.get(f"{base}/access_token", params=exchange, timeout=30).json()
    print(
        f"    {account['username']}: code -> short-lived {fingerprint(short['access_token'])} (1 h) "
        f"-> long-lived {fingerprint(long_lived['access_token'])} ({long_lived['expires_in'] // 86400} days)"
    )
    return str(long_lived["access_token"])


def run_demo(accounts: int = 3, media: int = 40) -> int:
    """Start the emulator, run the token chain and a media read for every account; 0 on success."""
    from airflow_provider_instagram.emulator import EmulatorClient, InstagramEmulator

    _step(1, f"starting the Instagram API emulator ({accounts} accounts, {media} media each, auto-consent)")
    with InstagramEmulator(accounts=accounts, media=media, seed=42, auto_consent=True) as emulator:
        seed, control, http = emulator.seed, EmulatorClient(emulator.url), requests.Session()
        print(f"    listening on {emulator.url}")
        _step(2, "onboarding each account through the real token chain")
        tokens = {a["username"]: _token_chain(http, seed, a) for a in seed["accounts"]}
        _step(3, "moving the emulator clock 50 days on and refreshing every long-lived token")
        control.advance_clock(50 * 86400)
        for username, token in tokens.items():
            params = {"grant_type": "ig_refresh_token", "access_token": token}
            fresh = http.get(f"{seed['graph_url']}/refresh_access_token", params=params, timeout=30).json()
            print(f"    {username}: refreshed, valid {fresh['expires_in'] // 86400} more days")
        _step(4, "reading every account's media (100 per page, carousel children expanded in the same call)")
        control.reset_calls()
        fields = "id,media_type,timestamp,children{id,media_type}"
        for username, token in tokens.items():
            url: str | None = f"{seed['graph_url']}/{seed['api_version']}/me/media"
            params = {"access_token": token, "fields": fields, "limit": "100"}
            rows = 0
            while url:
                page = http.get(url, params=params, timeout=30).json()
                rows += len(page["data"]) + sum(len(m.get("children", {}).get("data", [])) for m in page["data"])
                url, params = page.get("paging", {}).get("next"), {}
            print(f"    {username}: {rows} rows (media and carousel children)")
        print(f"    API calls for {len(tokens)} accounts: {sum(control.calls().values())}")
    _step(5, "done; the emulator has stopped")
    return 0
