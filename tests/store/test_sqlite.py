"""The SQLite transcript store: revisions replace by segment id, order, retention, rooms."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from roomscribe.store import SqliteStore
from tests.store.helpers import segment


def store_in(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "data")
    store.create()
    return store


def test_revisions_replace_their_final_in_place_and_never_go_back(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    t = time.time()
    store.write([segment(1, final_at=t), segment(2, final_at=t + 1), segment(3, final_at=t + 2)])
    store.write([segment(2, "sentence two, revised.", revision=1, final_at=t + 5)])
    store.write([segment(2, "an older revision, late.", revision=0, final_at=t + 6)])
    got = store.segments("standup")
    assert [(s.segment_id[-1], s.text, s.revision) for s in got] == [
        ("1", "sentence 1.", 0),
        ("2", "sentence two, revised.", 1),
        ("3", "sentence 3.", 0),
    ]
    assert got[1].final_at == t + 1  # a revision keeps its segment's place and age


def test_the_file_is_wal_and_readable_by_another_connection(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    store.write([segment(1)])
    with sqlite3.connect(store.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT COUNT(*) FROM segments").fetchone()[0] == 1
    assert SqliteStore(tmp_path / "data").segments("standup")[0].text == "sentence 1."


def test_meetings_rooms_retention_and_delete(tmp_path: Path) -> None:
    store = store_in(tmp_path)
    now = time.time()
    store.write(
        [
            segment(1, room="standup", meeting="RM_old", final_at=now - 3 * 3600),
            segment(2, room="standup", meeting="RM_new", final_at=now - 60),
            segment(3, room="retro", final_at=now - 30),
        ]
    )
    assert [s.meeting for s in store.segments("standup", meeting="RM_new")] == ["RM_new"]
    assert [r.room for r in store.rooms()] == ["retro", "standup"]
    assert len(store.segments("standup", since=now - 3600)) == 1

    assert store.purge(before=now - 3600) == 1
    assert [s.meeting for s in store.segments("standup")] == ["RM_new"]
    assert store.delete("standup") == 1
    assert store.segments("standup") == []
    assert [r.room for r in store.rooms()] == ["retro"]
