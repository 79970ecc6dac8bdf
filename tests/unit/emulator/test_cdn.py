"""Signed, expiring media URLs served by the emulator, with real file bytes."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.unit.emulator.conftest import Api

FIELDS = "id,media_type,media_url,thumbnail_url,children{id,media_type,media_url}"


def all_media(api: Api) -> list[dict]:
    page = api.get("/me/media", api.token, fields=FIELDS, limit=100).json()
    items = list(page["data"])
    while "next" in page.get("paging", {}):
        page = api.http.get(page["paging"]["next"], timeout=30).json()
        items += page["data"]
    return items


def test_media_urls_are_signed_with_a_hex_expiry(api: Api) -> None:
    item = next(m for m in all_media(api) if m["media_type"] == "IMAGE")
    query = parse_qs(urlsplit(item["media_url"]).query)
    assert {"_nc_cat", "_nc_ohc", "_nc_ht", "oh", "oe"} <= set(query)
    expiry = int(query["oe"][0], 16)
    assert abs(expiry - (api.control.state()["clock"] + 3 * 86400)) < 60


def test_images_and_videos_have_real_bytes(api: Api) -> None:
    items = all_media(api)
    image = next(m for m in items if m["media_type"] == "IMAGE")
    video = next(m for m in items if m["media_type"] == "VIDEO" and "media_url" in m)
    jpeg = api.http.get(image["media_url"], timeout=30)
    assert jpeg.status_code == 200
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert jpeg.content[:2] == b"\xff\xd8"
    assert jpeg.content[-2:] == b"\xff\xd9"
    assert image["id"].encode() in jpeg.content
    mp4 = api.http.get(video["media_url"], timeout=30)
    assert mp4.headers["content-type"] == "video/mp4"
    assert mp4.content[4:8] == b"ftyp"
    thumb = api.http.get(video["thumbnail_url"], timeout=30)
    assert thumb.content[:2] == b"\xff\xd8"


def test_some_media_have_no_media_url(api: Api) -> None:
    api.reset(accounts=1, media=200)
    items = all_media(api)
    assert len(items) == 200
    assert any("media_url" not in m for m in items if m["media_type"] == "VIDEO")


def test_expired_url_answers_403_and_a_reread_gives_a_fresh_one(api: Api) -> None:
    item = next(m for m in all_media(api) if m["media_type"] == "IMAGE")
    api.control.advance_clock(3 * 86400 + 5)
    stale = api.http.get(item["media_url"], timeout=30)
    assert stale.status_code == 403
    assert stale.text == "URL signature expired"
    assert stale.headers["content-type"].startswith("text/plain")
    fresh = api.get(f"/{item['id']}", api.token, fields="media_url").json()["media_url"]
    assert api.http.get(fresh, timeout=30).status_code == 200


def test_tampered_url_is_refused(api: Api) -> None:
    item = next(m for m in all_media(api) if m["media_type"] == "IMAGE")
    assert api.http.get(item["media_url"].replace("oh=", "oh=0"), timeout=30).status_code == 403
    later = item["media_url"].rsplit("oe=", 1)[0] + "oe=ffffffff"
    assert api.http.get(later, timeout=30).status_code == 403
