"""The SQLite transcript store: a WAL file other processes read, purge by age
(what every store does: ``test_model.py``)."""

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
