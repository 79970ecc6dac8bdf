"""Users, media, children, fields, paging and time windows, with and without a version prefix."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.unit.emulator.conftest import Api

IG_LOGIN_PROFILE = "id,user_id,username,name,account_type,profile_picture_url,followers_count,follows_count,media_count"


def walk(api: Api, first: dict) -> list[dict]:
    items, page = list(first["data"]), first
    while "next" in page.get("paging", {}):
        page = api.http.get(page["paging"]["next"], timeout=30).json()
        items += page["data"]
    return items


@pytest.mark.parametrize("prefix", ["", "/v25.0", "/v19.0"], ids=["unversioned", "v25", "v19"])
def test_me_and_user_id_paths_answer_the_same(api: Api, prefix: str) -> None:
    me = api.get(f"{prefix}/me", api.token, fields="id,username").json()
    by_id = api.get(f"{prefix}/{api.user_id}", api.token, fields="id,username").json()
    assert me == by_id
    assert me["id"] == api.user_id
    assert isinstance(me["id"], str)


def test_default_fields_are_just_the_id(api: Api) -> None:
    assert api.me().json() == {"id": api.user_id}


def test_instagram_login_profile_fields(api: Api) -> None:
    body = api.me(fields=IG_LOGIN_PROFILE).json()
    assert body["account_type"] in ("Business", "Media_Creator")
    assert body["media_count"] == 30
    assert isinstance(body["followers_count"], int)
    assert body["profile_picture_url"].startswith(api.url + "/cdn/profile/")


def test_basic_display_profile_fields_and_unknown_newer_fields(api: Api) -> None:
    api.reset(api="basic_display")
    body = api.me(fields="id,username,account_type,media_count").json()
    assert body["account_type"] in ("BUSINESS", "MEDIA_CREATOR")
    error = api.me(fields="id,followers_count").json()["error"]
    assert error["code"] == 100
    assert "followers_count" in error["message"]


def test_basic_display_media_has_no_like_count(api: Api) -> None:
    api.reset(api="basic_display")
    answer = api.get("/me/media", api.token, fields="id,like_count")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 100
    ok = api.get("/me/media", api.token, fields="id,caption,media_type,media_url,permalink,timestamp,username")
    assert ok.status_code == 200
    assert ok.headers["x-app-usage"]


def test_media_fields_and_nested_children_expansion(api: Api) -> None:
    fields = "id,media_type,media_product_type,like_count,comments_count,timestamp,children{id,media_type,media_url}"
    items = walk(api, api.get("/me/media", api.token, fields=fields, limit=100).json())
    assert len(items) == 30
    albums = [m for m in items if m["media_type"] == "CAROUSEL_ALBUM"]
    assert albums, "seed 0 must contain carousels"
    for album in albums:
        children = album["children"]["data"]
        assert 2 <= len(children) <= 10
        assert all(set(c) <= {"id", "media_type", "media_url"} for c in children)
    assert all("children" not in m for m in items if m["media_type"] != "CAROUSEL_ALBUM")
    assert all(m["timestamp"].endswith("+0000") for m in items)
    assert {m["media_product_type"] for m in items} <= {"FEED", "REELS"}


def test_children_edge_and_media_node(api: Api) -> None:
    items = walk(api, api.get("/me/media", api.token, fields="id,media_type", limit=100).json())
    album = next(m for m in items if m["media_type"] == "CAROUSEL_ALBUM")
    children = api.get(f"/v25.0/{album['id']}/children", api.token, fields="id,media_type,caption,permalink").json()
    assert children["data"]
    assert all("caption" not in c and "permalink" not in c for c in children["data"])
    node = api.get(f"/{album['id']}", api.token, fields="id,caption,permalink,owner,shortcode").json()
    assert node["id"] == album["id"]
    assert node["owner"] == {"id": api.user_id}
    assert node["permalink"] == f"https://www.instagram.com/p/{node['shortcode']}/"


def test_newer_fields_can_be_switched_off(api: Api) -> None:
    api.reset(newer_fields=False)
    items = api.get("/me/media", api.token, fields="id,caption,media_product_type,like_count").json()["data"]
    assert all("caption" not in m and "media_product_type" not in m for m in items)
    assert any("like_count" in m for m in items)


def test_unknown_field_and_unknown_id_are_code_100(api: Api) -> None:
    unknown_field = api.get("/me/media", api.token, fields="id,bogus").json()["error"]
    assert unknown_field["code"] == 100
    assert "bogus" in unknown_field["message"]
    unknown_id = api.get("/12345", api.token).json()["error"]
    assert unknown_id["code"] == 100
    assert unknown_id["error_subcode"] == 33
    other_user = api.reset(accounts=2)["accounts"][1]["id"]
    assert api.get(f"/{other_user}/media", api.token).json()["error"]["code"] == 100
    assert api.get("/me", api.token, fields="id,{").status_code == 400


def test_paging_defaults_to_25_and_next_urls_carry_version_user_id_and_token(api: Api) -> None:
    page = api.get("/me/media", api.token, fields="id,caption").json()
    assert len(page["data"]) == 25
    url = urlsplit(page["paging"]["next"])
    assert url.scheme == "http"
    assert url.netloc == urlsplit(api.url).netloc
    assert url.path == f"/v25.0/{api.user_id}/media"
    query = parse_qs(url.query)
    assert query["access_token"] == [api.token]
    assert query["fields"] == ["id,caption"]
    assert query["limit"] == ["25"]
    second = api.http.get(page["paging"]["next"], timeout=30).json()
    assert len(second["data"]) == 5
    assert "next" not in second["paging"]
    previous = api.http.get(second["paging"]["previous"], timeout=30).json()
    assert [m["id"] for m in previous["data"]] == [m["id"] for m in page["data"]]


def test_paging_keeps_the_request_version(api: Api) -> None:
    page = api.get("/v21.0/me/media", api.token, limit=10).json()
    assert urlsplit(page["paging"]["next"]).path.startswith("/v21.0/")


@pytest.mark.parametrize(("limit", "size"), [("1", 1), ("100", 30), ("500", 30)], ids=["1", "100", "clamped"])
def test_limit(api: Api, limit: str, size: int) -> None:
    assert len(api.get("/me/media", api.token, limit=limit).json()["data"]) == size


def test_limit_above_100_is_clamped(api: Api) -> None:
    api.reset(accounts=1, media=150)
    assert len(api.get("/me/media", api.token, limit=500).json()["data"]) == 100


@pytest.mark.parametrize("limit", ["0", "-3", "ten"])
def test_bad_limit_is_code_100(api: Api, limit: str) -> None:
    assert api.get("/me/media", api.token, limit=limit).json()["error"]["code"] == 100


def test_since_and_until_select_a_time_window_and_paging_keeps_it(api: Api) -> None:
    api.reset(accounts=1, media=120, anchor=1_767_225_600, span_days=30)  # newest media at 2026-01-01
    everything = walk(api, api.get("/me/media", api.token, fields="id,timestamp", limit=100).json())
    stamps = sorted(m["timestamp"] for m in everything)
    since, until = "2025-12-10", "2025-12-20T00:00:00"
    expected = [m for m in everything if "2025-12-10" <= m["timestamp"] <= "2025-12-20T00:00:00+0000"]
    first = api.get("/me/media", api.token, fields="id,timestamp", limit=7, since=since, until=until).json()
    window = walk(api, first)
    assert [m["id"] for m in window] == [m["id"] for m in expected]
    assert 0 < len(window) < len(stamps)
    assert parse_qs(urlsplit(first["paging"]["next"]).query)["since"] == ["1765324800"]
    unix = api.get("/me/media", api.token, fields="id", limit=100, since="1765324800", until="1766188800").json()
    assert [m["id"] for m in unix["data"]] == [m["id"] for m in expected]


def test_cursor_of_another_window_is_rejected(api: Api) -> None:
    page = api.get("/me/media", api.token, limit=5).json()
    cursor = page["paging"]["cursors"]["after"]
    assert api.get("/me/media", api.token, after=cursor, since="2020-01-01").json()["error"]["code"] == 100
    assert api.get("/me/media", api.token, after="not-a-cursor").json()["error"]["code"] == 100


def test_bearer_header_is_accepted(api: Api) -> None:
    answer = api.http.get(f"{api.url}/me", headers={"Authorization": f"Bearer {api.token}"}, timeout=30)
    assert answer.json() == {"id": api.user_id}


def test_media_edge_shows_at_most_the_10000_newest(api: Api) -> None:
    api.reset(accounts=1, media=10_050, rate_limit_budget=None)
    ids = [m["id"] for m in walk(api, api.get("/me/media", api.token, limit=100).json())]
    assert len(ids) == 10_000
    assert api.me(fields="media_count").json()["media_count"] == 10_050
    api.reset(accounts=1, media=10_050, media_edge_cap=None, rate_limit_budget=None)
    assert len(walk(api, api.get("/me/media", api.token, limit=100).json())) == 10_050


def test_response_headers_look_like_graph(api: Api) -> None:
    answer = api.me()
    assert answer.reason == "OK"
    assert answer.headers["content-type"] == "application/json; charset=UTF-8"
    assert answer.headers["x-fb-request-id"]
