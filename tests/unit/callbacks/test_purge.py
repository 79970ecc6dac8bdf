"""Deleting one user's files and rows: exactly theirs, on a real folder tree and a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_instagram.deletion.purge import USER_FOLDERS, checked_user_ids, delete_files, delete_rows
from airflow_provider_instagram.exceptions import InvalidIdError
from airflow_provider_instagram.insights.schema import INSIGHTS_FOLDERS
from airflow_provider_instagram.warehouse.dialects import SQLITE
from airflow_provider_instagram.warehouse.insights_tables import insights_table_specs
from airflow_provider_instagram.warehouse.tables import media_table_spec, profile_table_spec

FOLDERS = ("media", "profiles", "files", "_staging", *INSIGHTS_FOLDERS)


def _tree(root: Path, users: tuple[str, ...]) -> None:
    for user in users:
        for folder in FOLDERS:
            (root / folder / f"user_id={user}").mkdir(parents=True)
            (root / folder / f"user_id={user}" / "part-00000.parquet").write_bytes(b"x")
    (root / "media" / "user_id=1110").mkdir(parents=True)  # a prefix of nobody's id must survive
    (root / "media" / "user_id=1110" / "part-00000.parquet").write_bytes(b"x")


def test_delete_files_removes_only_the_users_folders(tmp_path: Path) -> None:
    _tree(tmp_path, ("111", "222"))
    deleted = delete_files(ObjectStoragePath(f"file://{tmp_path}"), ["111"])
    assert sorted(USER_FOLDERS) == sorted(FOLDERS)
    assert len(deleted) == len(FOLDERS) and all("user_id=111" in d for d in deleted)
    left = sorted(str(p.relative_to(tmp_path).parent) for p in tmp_path.rglob("*.parquet"))
    assert left == sorted([f"{folder}/user_id=222" for folder in FOLDERS] + ["media/user_id=1110"])
    assert delete_files(ObjectStoragePath(f"file://{tmp_path}"), ["111"]) == []  # a retry is harmless


@pytest.mark.parametrize("bad", ["../222", "1/2", "", "a b", "*"])
def test_ids_that_could_escape_their_folder_are_refused(bad: str, tmp_path: Path) -> None:
    _tree(tmp_path, ("222",))
    with pytest.raises(InvalidIdError, match=r"not Instagram user ids.*nothing was deleted"):
        delete_files(ObjectStoragePath(f"file://{tmp_path}"), ["111", bad])
    assert len(list(tmp_path.rglob("*.parquet"))) == len(FOLDERS) + 1
    with pytest.raises(InvalidIdError, match="not Instagram user ids"):
        delete_rows(sqlite3.connect(tmp_path / "w.sqlite"), [bad], "?")


def test_delete_rows_removes_only_the_users_rows(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "w.sqlite")
    insights = insights_table_specs()
    for spec in (media_table_spec(), profile_table_spec(), *insights):
        for statement in spec.create_sql(SQLITE):
            db.execute(statement)
    media = [("111", "a"), ("111", "b"), ("222", "c")]
    db.executemany("INSERT INTO instagram_media (user_id, id) VALUES (?, ?)", media)
    db.executemany("INSERT INTO instagram_profiles (id, exported_at) VALUES (?, ?)", [("111", "t"), ("222", "t")])
    for spec in insights:  # one row each for both users: every key column filled in
        marks = ", ".join("?" * len(spec.key))
        for user in ("111", "222"):
            db.execute(
                f"INSERT INTO {spec.name} ({', '.join(spec.key)}) VALUES ({marks})", (user, *"x" * (len(spec.key) - 1))
            )
    db.commit()
    assert delete_rows(db, ["111"], "?") == {
        "instagram_media": 2, "instagram_profiles": 1, "instagram_media_insights": 1, "instagram_account_insights": 1,
        "instagram_audience_demographics": 1,
    }  # fmt: skip
    assert db.execute("SELECT user_id, id FROM instagram_media").fetchall() == [("222", "c")]
    assert db.execute("SELECT id FROM instagram_profiles").fetchall() == [("222",)]
    for spec in insights:
        assert db.execute(f"SELECT user_id FROM {spec.name}").fetchall() == [("222",)]


def test_delete_rows_skips_tables_that_do_not_exist(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "empty.sqlite")
    assert delete_rows(db, ["111"], "?") == {}


def test_checked_ids_are_deduplicated() -> None:
    assert checked_user_ids(["2", "1", "2", 1]) == ["1", "2"]
