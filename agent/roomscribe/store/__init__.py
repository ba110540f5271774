"""The durable transcript of record: every room's finals and their revisions.

Caption workers write each final as it is published (:class:`RecordWriter`,
one thread per process, never blocking captions); the web server, the late
joiners' backlog and ``roomscribe transcripts`` read it (:class:`SqliteStore`).
The default store is one SQLite file in ``ROOMSCRIBE_DATA_DIR``, shared by the
processes of one machine; ``ROOMSCRIBE_STORE=off`` keeps the record in each
captioner's memory only, as before. No audio is ever stored.
"""

from roomscribe.store.sqlite import RoomSummary, SqliteStore, StoredSegment, horizon
from roomscribe.store.writer import RecordOptions, RecordWriter

__all__ = [
    "RecordOptions",
    "RecordWriter",
    "RoomSummary",
    "SqliteStore",
    "StoredSegment",
    "horizon",
]
