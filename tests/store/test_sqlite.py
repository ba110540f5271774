"""The SQLite transcript store: a WAL file other processes read, purge by age
(what every store does: ``test_model.py``)."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

from roomscribe.store import SqliteStore
from tests.store.helpers import segment


def store_in(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "data")
    store.create()
    return store


def test_the_file_is_wal_and_readable_by_another_connection(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.write([segment(1)])
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 1
    assert SqliteStore(tmp_path / "data").segments("standup")[0].text == "sentence 1."


def test_purge_deletes_segments_older_than_the_retention(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    now = time.time()
    store.write(
        [
            segment(1, meeting="RM_old", final_at=now - 3 * 3600),
            segment(2, meeting="RM_new", final_at=now - 60),
        ]
    )
    assert store.purge(before=now - 3600) == 1
    assert [s.meeting for s in store.segments("standup")] == ["RM_new"]


def test_a_store_from_before_room_started_at_gets_the_column(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with sqlite3.connect(tmp_path / "data" / "transcripts.sqlite3") as db:
        db.execute(
            "CREATE TABLE segments (room TEXT NOT NULL, segment_id TEXT NOT NULL, "
            "meeting TEXT NOT NULL, speaker TEXT NOT NULL, speaker_name TEXT NOT NULL, "
            "track_id TEXT NOT NULL, text TEXT NOT NULL, start REAL NOT NULL, "
            '"end" REAL NOT NULL, spoken_at REAL NOT NULL, final_at REAL NOT NULL, '
            "language TEXT, revision INTEGER NOT NULL, PRIMARY KEY (room, segment_id))"
        )
    store = store_in(tmp_path)
    store.write([replace(segment(1), room_started_at=1.5)])
    assert [s.room_started_at for s in store.segments("standup")] == [1.5]
