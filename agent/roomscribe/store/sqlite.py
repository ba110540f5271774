"""The transcript store on disk: one SQLite file in the data directory.

WAL mode, so every process on the machine (caption workers, the web server,
``roomscribe transcripts``) reads while one of them writes; each writing
process has one writer (:class:`~roomscribe.store.writer.RecordWriter`'s
thread). A revision replaces its segment's row (same ``segment_id``) and keeps
the row's place and times; an older revision arriving late never undoes a
newer one. Rows older than the retention limit are deleted (:meth:`purge`) and
never read. Only text is kept: no audio, no words' timings.

Every method is synchronous and blocking: call it from a thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

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
    PRIMARY KEY (room, segment_id)
);
CREATE INDEX IF NOT EXISTS segments_by_age ON segments (final_at);
"""
_COLUMNS = (
    "room, segment_id, meeting, speaker, speaker_name, track_id, text, start, "
    '"end", spoken_at, final_at, language, revision'
)
_UPSERT = f"""
INSERT INTO segments ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (room, segment_id) DO UPDATE SET
    text = excluded.text, "end" = excluded."end", language = excluded.language,
    revision = excluded.revision
WHERE excluded.revision >= segments.revision
"""


@dataclass(frozen=True, slots=True)
class StoredSegment:
    """One final segment of a room as last published (its latest revision)."""

    room: str
    segment_id: str
    """As published (``lk.segment_id``), unique in the room."""
    meeting: str
    """The LiveKit room sid: one meeting of a room name (a name can be reused)."""
    speaker: str
    """Identity of the participant who spoke."""
    speaker_name: str
    """Their display name as the server issued it."""
    track_id: str
    text: str
    start: float
    """Seconds since the track's caption stream started, as on the live captions."""
    end: float
    spoken_at: float
    """Wall-clock time (Unix seconds) the segment's speech started."""
    final_at: float
    """Wall-clock time its first final was published: the record's order and age."""
    language: str | None
    revision: int

    def backlog_json(self) -> dict[str, Any]:
        """The late joiner's backlog entry (``RecordedSegment.as_json`` of the live record)."""
        return {
            "speaker": self.speaker,
            "speaker_name": self.speaker_name,
            "track_id": self.track_id,
            "segment_id": self.segment_id,
            "text": self.text,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "language": self.language,
            "revision": self.revision,
        }

    def replaces(self, other: StoredSegment) -> bool:
        """Whether this row wins over ``other`` (same segment): a revision as new or newer."""
        return self.revision >= other.revision


@dataclass(frozen=True, slots=True)
class RoomSummary:
    """One room of the store, for ``roomscribe transcripts list``."""

    room: str
    segments: int
    first_at: float
    last_at: float


class SqliteStore:
    """The transcripts of every room, in ``data_dir``/:data:`FILE_NAME`."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FILE_NAME
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


def horizon(retention_s: float, now: float | None = None) -> float:
    """The oldest ``final_at`` kept under ``retention_s``."""
    return (time.time() if now is None else now) - retention_s
