"""The plugin's pages besides the accounts table: an error, the Meta dashboard section, an account connected."""

from __future__ import annotations

from airflow_provider_instagram.dag_files import REFRESH_DAG_ID
from airflow_provider_instagram.plugin import pages
from airflow_provider_instagram.plugin.airflow_side import DagStatus
from airflow_provider_instagram.plugin.refresh_setup import refresh_setup_problems
from tests.unit.plugin.html_tree import by_id, classes, parse, text

HOME = "https://airflow.example.com/instagram/?from=<x>&y='1'"
BASE = "https://airflow.example.com"
EVIL = "<script>alert('x')</script>"


def registration(configured: bool) -> str:
    return pages.registration(
        f"{BASE}/instagram/oauth/callback", f"{BASE}/instagram/deauthorize", f"{BASE}/instagram/data-deletion", BASE,
        configured,
    )  # fmt: skip


def test_a_failed_page_says_what_went_wrong_and_links_to_start_again() -> None:
    tree = parse(pages.failed(f"Not connected {EVIL}", f"Instagram said {EVIL}", home=HOME, hint=f"hint {EVIL}"))
    assert tree.find(".//script") is None
    assert text(by_id(tree, "title")) == f"Not connected {EVIL}"
    assert classes(by_id(tree, "title")) == {"error"}
    assert text(by_id(tree, "message")) == f"Instagram said {EVIL}"
    assert text(by_id(tree, "hint")) == f"hint {EVIL}"
    again = by_id(tree, "start-again")
    assert (again.tag, again.get("href"), text(again)) == ("a", HOME, "Start again")
    assert by_id(tree, "home").get("href") == HOME


def test_a_failed_page_without_a_hint_has_none() -> None:
    tree = parse(pages.failed("Not allowed", "no", home=HOME))
    assert tree.find(".//*[@id='hint']") is None
    assert by_id(tree, "start-again").get("href") == HOME


def test_registration_with_a_configured_base_url_lists_the_three_urls() -> None:
    tree = parse(f"<div>{registration(True)}</div>")
    assert text(by_id(tree, "redirect-uri")) == f"{BASE}/instagram/oauth/callback"
    assert text(by_id(tree, "deauthorize-url")) == f"{BASE}/instagram/deauthorize"
    assert text(by_id(tree, "deletion-url")) == f"{BASE}/instagram/data-deletion"
    assert text(by_id(tree, "base-url")) == BASE
    source = text(by_id(tree, "base-url-source"))
    assert "Airflow's [api] base_url" in source
    assert "not set" not in source


def test_registration_without_a_base_url_explains_that_it_is_not_set() -> None:
    tree = parse(f"<div>{registration(False)}</div>")
    source = text(by_id(tree, "base-url-source"))
    assert "the address you browsed to, because [api] base_url is not set" in source
    assert "set [api] base_url to Airflow's public HTTPS address" in source
    assert text(by_id(tree, "base-url")) == BASE


def test_registration_escapes_the_urls() -> None:
    section = pages.registration(f"{BASE}/{EVIL}", "d", "x", f"{BASE}/?a=<b>", False)
    tree = parse(f"<div>{section}</div>")
    assert tree.find(".//script") is None
    assert text(by_id(tree, "redirect-uri")) == f"{BASE}/{EVIL}"
    assert text(by_id(tree, "base-url")) == f"{BASE}/?a=<b>"


def test_a_connected_account_whose_refresh_is_set_up_is_refreshed_from_now_on() -> None:
    html = pages.connected("instagram_acme", "acme", "9001", "2027-01-31T12:00:00+00:00", True, [], home=HOME)
    tree = parse(html)
    assert classes(by_id(tree, "title")) == {"ok"}
    assert text(by_id(tree, "connection")) == "instagram_acme"
    assert "Instagram account @acme (user id 9001) is connected" in text(by_id(tree, "account"))
    assert text(by_id(tree, "account")).endswith("was created.")
    expiry = text(by_id(tree, "expiry"))
    assert "expires 2027-01-31T12:00:00+00:00" in expiry
    assert f"the {REFRESH_DAG_ID} DAG refreshes it every day from now on" in expiry
    assert not [box for box in tree.iter("div") if "setup-problem" in classes(box)]
    assert by_id(tree, "back").get("href") == HOME


def test_a_connected_account_whose_refresh_is_not_set_up_shows_each_fix() -> None:
    problems = refresh_setup_problems(DagStatus(REFRESH_DAG_ID, deployed=True, paused=True), False)
    html = pages.connected("instagram_acme", "acme", "9001", "at an unknown time", False, problems, home=HOME)
    tree = parse(html)
    assert "refreshes it every day from now on" not in text(tree)
    assert text(by_id(tree, "account")).endswith("was updated.")
    assert f"The {REFRESH_DAG_ID} DAG cannot keep it alive yet" in text(by_id(tree, "expiry"))
    shown = [box for box in tree.iter("div") if "setup-problem" in classes(box)]
    assert len(shown) == len(problems) == 2
    for box, problem in zip(shown, problems, strict=True):
        assert [text(b) for b in box.iter("b")] == [problem.what]
        assert text(box).endswith(problem.fix)


def test_a_connected_page_escapes_what_instagram_and_the_user_gave() -> None:
    html = pages.connected(f"ig{EVIL}", EVIL, f"9{EVIL}", EVIL, True, [], home=HOME)
    tree = parse(html)
    assert tree.find(".//script") is None
    assert "<script" not in html
    assert text(by_id(tree, "connection")) == f"ig{EVIL}"
    assert f"@{EVIL} (user id 9{EVIL})" in text(by_id(tree, "account"))
