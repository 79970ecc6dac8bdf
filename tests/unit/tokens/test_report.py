from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow_provider_instagram.account.record import format_time
from airflow_provider_instagram.tokens.dag import collect
from airflow_provider_instagram.tokens.refresh import AccountResult, Outcome
from airflow_provider_instagram.tokens.report import HealthReport

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def result(conn_id: str, outcome: Outcome, days: float | None, detail: str = "") -> AccountResult:
    expires = format_time(NOW + timedelta(days=days)) if days is not None else None
    return AccountResult(conn_id, outcome, detail, "ok", f"user_{conn_id}", "17", expires, format_time(NOW))


def test_healthy_accounts_need_no_attention() -> None:
    report = HealthReport([result("a", Outcome.REFRESHED, 60), result("b", Outcome.FRESH, 59.5)], NOW)
    assert report.attention() == []
    assert report.summary() == "Instagram tokens: 2 accounts (1 fresh, 1 refreshed); nothing needs attention."


def test_attention_rules() -> None:
    report = HealthReport(
        [
            result("dead", Outcome.REAUTH_REQUIRED, 30, "the user removed the app (access revoked)"),
            result("env", Outcome.NOT_WRITABLE, None, "not in the metadata database"),
            result("lost", Outcome.WRITE_FAILED, 50, "saving failed"),
            result("soon", Outcome.FAILED, 6.5, "HTTP 503"),
            result("blip", Outcome.FAILED, 40, "HTTP 503"),
            result("young", Outcome.REFUSED, 7, "younger than 24 h"),
            result("unknown", Outcome.FAILED, None, "HTTP 503"),
            result("off", Outcome.OPTED_OUT, 1),
        ],
        NOW,
        warn_days=7,
    )
    found = dict(report.attention())
    assert sorted(found) == ["dead", "env", "lost", "soon", "unknown", "young"]
    assert "access revoked" in found["dead"]
    assert found["soon"].startswith("expires in 6.5 days despite refresh attempts")
    assert "6 need attention" in report.summary()
    assert "- dead: reauth_required: the user removed the app" in report.summary()


def test_table_and_xcom_show_every_account_sorted() -> None:
    report = HealthReport([result("b", Outcome.REFRESHED, 60), result("a", Outcome.REAUTH_REQUIRED, -1.25)], NOW)
    lines = report.table().splitlines()
    assert lines[0].split() == ["connection", "username", "status", "expires_at", "days_left", "refreshed_at",
                                "outcome"]  # fmt: skip
    assert lines[2].split()[:2] == ["a", "user_a"] and "-1.2" in lines[2]
    assert lines[3].split()[0] == "b" and "2027-01-28 06:00" in lines[3]
    xcom = report.to_xcom()
    assert [a["connection"] for a in xcom["accounts"]] == ["a", "b"]
    assert xcom["counts"] == {"refreshed": 1, "reauth_required": 1}
    assert xcom["attention"][0]["connection"] == "a"


def test_an_account_whose_batch_never_reported_is_a_failure() -> None:
    done = [result("a", Outcome.REFRESHED, 60).to_dict()]
    results = {r.conn_id: r for r in collect([], [done, None], ["a", "b"])}
    assert results["a"].outcome is Outcome.REFRESHED
    assert results["b"].outcome is Outcome.FAILED and "did not finish" in results["b"].detail
    assert dict(HealthReport(list(results.values()), NOW).attention())["b"].startswith("failed and its expiry")
