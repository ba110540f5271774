"""The transcript store on disk: one SQLite file in the data directory.

WAL mode, so every process on the machine (caption workers, the web server,
``roomscribe transcripts``) reads while one of them writes; each writing
process has one writer (:class:`~roomscribe.store.writer.RecordWriter`'s
thread). A revision is an upsert of its segment's row (same ``segment_id``)
that keeps the row's place and times (see :mod:`roomscribe.store.model`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from roomscribe.store.model import RoomSummary, StoredSegment

FILE_NAME = "transcripts.sqlite3"
BUSY_TIMEOUT_S = 5.0
"""How long one statement waits for another process's write to finish."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    room TEXT NOT NULL,
    segment_id TEXT NOT NULL,
    meeting TEXT NOT NULL,
    speaker TEXT NOT NULL,
    speaker_name TEXT NOT NULL,
    track_id TEXT NOT NULL,
    text TEXT NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    spoken_at REAL NOT NULL,
    final_at REAL NOT NULL,
    language TEXT,
    revision INTEGER NOT NULL,
    room_started_at REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (room, segment_id)
);
CREATE INDEX IF NOT EXISTS segments_by_age ON segments (final_at);
"""
_ADD_ROOM_STARTED_AT = "ALTER TABLE segments ADD COLUMN room_started_at REAL NOT NULL DEFAULT 0"
_COLUMNS = (
    "room, segment_id, meeting, speaker, speaker_name, track_id, text, start, "
    '"end", spoken_at, final_at, language, revision, room_started_at'
)
_UPSERT = f"""
INSERT INTO segments ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (room, segment_id) DO UPDATE SET
    text = excluded.text, "end" = excluded."end", language = excluded.language,
    revision = excluded.revision
WHERE excluded.revision >= segments.revision
"""


class SqliteStore:
    """The transcripts of every room, in ``data_dir``/:data:`FILE_NAME`
    (a :class:`~roomscribe.store.model.TranscriptStore`)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
        self.location = str(self.path)
        self._data_dir = data_dir
        self._writer: sqlite3.Connection | None = None
        """Kept open between writes (one writing thread): opening a connection and
        checkpointing when the last one closes would cost more than the write."""

    def create(self) -> None:
        """Create the directory and the schema (idempotent); switches the file to WAL."""
        self._data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(segments)")}
            if "room_started_at" not in columns:  # a store written before it was kept
                db.execute(_ADD_ROOM_STARTED_AT)

    def write(self, segments: Iterable[StoredSegment]) -> None:
        """Insert or revise ``segments`` in one transaction (all or nothing)."""
        rows = [tuple(asdict(s).values()) for s in segments]
        if self._writer is None:
            self._writer = self._open()
        try:
            with self._writer:
                self._writer.executemany(_UPSERT, rows)
        except sqlite3.Error:
            self.close()  # the file may be gone or replaced: open it again next time
            raise

    def close(self) -> None:
        """Close the writing connection (reads open their own)."""
        db, self._writer = self._writer, None
        if db is not None:
            db.close()

    def segments(
        self, room: str, *, since: float = 0.0, meeting: str | None = None
    ) -> list[StoredSegment]:
        """The room's segments whose first final is not older than ``since``, in
        the order they became final; only one ``meeting`` if given."""
        where = "room = ? AND final_at >= ?"
        args: list[Any] = [room, since]
        if meeting is not None:
            where += " AND meeting = ?"
            args.append(meeting)
        sql = f"SELECT {_COLUMNS} FROM segments WHERE {where} ORDER BY final_at, rowid"
        with self._connect() as db:
            return [StoredSegment(*row) for row in db.execute(sql, args)]

    def rooms(self, *, since: float = 0.0) -> list[RoomSummary]:
        """Every room with segments not older than ``since``, most recent first."""
        sql = (
            "SELECT room, COUNT(*), MIN(spoken_at), MAX(final_at) FROM segments "
            "WHERE final_at >= ? GROUP BY room ORDER BY MAX(final_at) DESC"
        )
        with self._connect() as db:
            return [RoomSummary(*row) for row in db.execute(sql, (since,))]

    def delete(self, room: str) -> int:
        """Delete a room's whole record; returns how many segments were deleted."""
        with self._connect() as db, db:
            return db.execute("DELETE FROM segments WHERE room = ?", (room,)).rowcount

    def purge(self, before: float) -> int:
        """Delete every segment whose first final is older than ``before`` (Unix time)."""
        with self._connect() as db, db:
            return db.execute("DELETE FROM segments WHERE final_at < ?", (before,)).rowcount

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per call: cheap for SQLite, and safe from any thread.
        with closing(self._open()) as db:
            yield db

    def _open(self) -> sqlite3.Connection:
        # mode=rw: a missing file is an error, not a new empty store (create() makes it)
        db = sqlite3.connect(
            f"file:{self.path}?mode=rw", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
        )
        db.execute("PRAGMA synchronous=NORMAL")  # WAL: a power cut may lose the last writes
        return db
