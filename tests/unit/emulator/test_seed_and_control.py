"""Deterministic seeding, the control API, and Meta's signed_request callbacks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from airflow_provider_instagram.emulator import EmulatorBackend, EmulatorConfig, make_signed_request
from tests.unit.emulator.conftest import Api


def test_same_seed_same_data_and_other_seed_other_data() -> None:
    def snapshot(seed: int) -> list:
        backend = EmulatorBackend(EmulatorConfig(seed=seed, accounts=3, media=50, anchor=1_700_000_000))
        return [(a.id, a.username, [(m.id, m.caption, m.media_type, len(m.children)) for m in a.media])
                for a in backend.accounts.values()]  # fmt: skip

    assert snapshot(11) == snapshot(11)
    assert snapshot(11) != snapshot(12)


def test_seed_has_every_kind_of_media() -> None:
    backend = EmulatorBackend(EmulatorConfig(seed=1, accounts=2, media=300))
    media = [m for a in backend.accounts.values() for m in a.media]
    kinds = {(m.media_type, m.media_product_type) for m in media}
    assert kinds == {("IMAGE", "FEED"), ("VIDEO", "FEED"), ("VIDEO", "REELS"), ("CAROUSEL_ALBUM", "FEED")}
    albums = [m for m in media if m.media_type == "CAROUSEL_ALBUM"]
    assert {len(m.children) for m in albums} <= set(range(2, 11))
    assert len({len(m.children) for m in albums}) > 3
    assert any(m.caption and any(ord(ch) > 0xFFFF for ch in m.caption) for m in media), "emoji captions"
    assert any(not m.has_media_url for m in media)
    assert len({m.id for m in media}) == len(media)
    stamps = [m.timestamp for m in backend.accounts[next(iter(backend.accounts))].media]
    assert stamps == sorted(stamps, reverse=True)


def test_unknown_option_is_refused_by_name(api: Api) -> None:
    answer = api.http.post(f"{api.url}/_emulator/reset", json={"acounts": 3}, timeout=30)
    assert answer.status_code == 400
    assert "acounts" in answer.json()["error"]


def test_reset_reseeds_and_clears_tokens_codes_and_clock(api: Api) -> None:
    api.control.advance_clock(10 * 86400)
    seed = api.reset(accounts=4, media=5, seed=9)
    assert [a["media"] for a in seed["accounts"]] == [5, 5, 5, 5]
    state = api.control.state()
    assert len(state["tokens"]) == 4
    assert abs(state["clock"] - api.control.advance_clock(0)) < 5
    assert api.token not in json.dumps(state), "the state report shows token hashes only"


def test_config_patch_changes_behaviour_without_reseeding(api: Api) -> None:
    before = api.control.seed()["accounts"]
    api.control.configure(rate_limit_budget=1)
    assert api.control.seed()["accounts"] == before
    api.me()
    assert api.me().json()["error"]["code"] == 80002


def test_clock_moves_forward_and_can_be_set(api: Api) -> None:
    now = api.control.advance_clock(0)
    assert api.control.advance_clock(3600) - now >= 3600
    answer = api.http.post(f"{api.url}/_emulator/clock", json={"set": 2_000_000_000}, timeout=30).json()
    assert abs(answer["now"] - 2_000_000_000) < 5


def test_a_pinned_clock_is_the_time_of_tokens_and_media(api: Api) -> None:
    pinned = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    api.reset(accounts=1, media=20, span_days=2, clock=pinned.timestamp())
    assert timedelta(0) <= api.control.now() - pinned < timedelta(seconds=5)
    assert all(abs(t["issued_at"] - pinned.timestamp()) < 5 for t in api.control.state()["tokens"])
    media = api.get("/me/media", api.token, fields="timestamp").json()["data"]
    stamps = [datetime.strptime(m["timestamp"], "%Y-%m-%dT%H:%M:%S%z") for m in media]
    anchor = pinned.replace(minute=0)  # the newest media is at most the pinned clock's whole hour
    assert stamps and all(anchor - timedelta(days=2) < ts <= anchor for ts in stamps)
    later = datetime(2030, 1, 1, tzinfo=UTC)
    assert timedelta(0) <= api.control.set_clock(later) - later < timedelta(seconds=5)


def test_media_seeded_after_the_clock_are_posted_as_it_passes_them(api: Api) -> None:
    pinned = datetime(2026, 11, 28, 12, tzinfo=UTC)
    api.reset(accounts=1, media=40, span_days=4, clock=pinned.timestamp(), anchor=int(pinned.timestamp()) + 2 * 86400)

    def listed() -> list[datetime]:
        media = api.get("/me/media", api.token, fields="timestamp", limit=7).json()
        stamps = [m["timestamp"] for m in media["data"]]
        while "next" in media.get("paging", {}):
            media = api.http.get(media["paging"]["next"], timeout=30).json()
            stamps += [m["timestamp"] for m in media["data"]]
        return [datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S%z") for ts in stamps]

    now = api.control.now()
    early = listed()
    assert early and max(early) <= now and api.me(fields="media_count").json()["media_count"] == len(early) < 40
    api.control.advance_clock(2 * 86400 + 60)
    assert len(listed()) == 40 == api.me(fields="media_count").json()["media_count"]
    assert set(early) < set(listed())


def test_seeded_accounts_can_be_given_ids(api: Api) -> None:
    generated = api.reset(accounts=2, media=4, seed=3)["accounts"]
    chosen = api.reset(accounts=2, media=4, seed=3, account_ids=["1/../outside"])["accounts"]
    assert [a["id"] for a in chosen] == ["1/../outside", generated[1]["id"]]
    assert [a["username"] for a in chosen] == [a["username"] for a in generated], "the rest of the seed is the same"
    assert api.me(fields="id").json() == {"id": "1/../outside"}
    answer = api.http.post(f"{api.url}/_emulator/reset", json={"account_ids": ["7", "7"]}, timeout=30)
    assert answer.status_code == 400 and "account_ids" in answer.json()["error"]


def test_a_media_can_be_given_another_id(api: Api) -> None:
    api.reset(accounts=1, media=3)
    before = [m["id"] for m in api.get("/me/media", api.token, fields="id").json()["data"]]
    assert api.control.edit_media(before[0], id="1/../escaped")["id"] == "1/../escaped"
    after = [m["id"] for m in api.get("/me/media", api.token, fields="id").json()["data"]]
    assert after == ["1/../escaped", *before[1:]]
    taken = api.http.post(f"{api.url}/_emulator/media/{before[1]}", json={"id": before[2]}, timeout=30)
    assert taken.status_code == 400 and "taken" in taken.json()["error"]


class _Receiver(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        form = parse_qs(self.rfile.read(length).decode())
        self.received.append(form["signed_request"][0])
        body = json.dumps({"url": "https://example.com/status?id=abc", "confirmation_code": "abc123"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received = []
    yield f"http://127.0.0.1:{server.server_address[1]}/instagram/data-deletion"
    server.shutdown()
    thread.join()


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def test_signed_request_is_posted_and_verifies_with_the_app_secret(api: Api, receiver: str) -> None:
    answer = api.control.send_signed_request(receiver, api.user_id)
    assert answer["status"] == 200
    assert json.loads(answer["body"])["confirmation_code"] == "abc123"
    (signed,) = _Receiver.received
    signature, payload = signed.split(".")
    assert "=" not in signed
    expected = hmac.new(api.seed["client_secret"].encode(), payload.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(_b64decode(signature), expected)
    body = json.loads(_b64decode(payload))
    assert body["algorithm"] == "HMAC-SHA256"
    assert body["user_id"] == api.user_id
    assert body["expires"] > body["issued_at"]


def test_signing_matches_the_published_worked_example() -> None:
    payload = {
        "algorithm": "HMAC-SHA256",
        "expires": 1291840400,
        "issued_at": 1291836800,
        "user_id": "218471",
    }
    assert make_signed_request(payload, "client_secret_shhhhhh!") == (
        "w5ZbbWP9yOwBA1uJZbc7-9gZok0O42U4i0yyvxXE_jY.eyJhbGdvcml0aG0iOiJITUFDLVNIQTI1NiIsImV4cGlyZXMiOjEyOTE4NDA0"
        "MDAsImlzc3VlZF9hdCI6MTI5MTgzNjgwMCwidXNlcl9pZCI6IjIxODQ3MSJ9"
    )
