"""The durable transcript of record: every room's finals and their revisions.

Caption workers write each final as it is published (:class:`RecordWriter`,
one thread per process, never blocking captions); the web server, the late
joiners' backlog and ``roomscribe transcripts`` read it (:func:`open_store`).
The default store is one SQLite file in ``ROOMSCRIBE_DATA_DIR``, shared by the
processes of one machine (:class:`SqliteStore`); ``ROOMSCRIBE_STORE=redis://…``
keeps it in the cluster's Redis, shared by every machine (:mod:`roomscribe.store.redis`,
loaded only then); ``ROOMSCRIBE_STORE=off`` keeps the record in each
captioner's memory only. No audio is ever stored.
"""

from roomscribe.store.model import RoomSummary, StoredSegment, TranscriptStore, horizon
from roomscribe.store.sqlite import SqliteStore
from roomscribe.store.writer import RecordOptions, RecordWriter, open_store

__all__ = [
    "RecordOptions",
    "RecordWriter",
    "RoomSummary",
    "SqliteStore",
    "StoredSegment",
    "TranscriptStore",
    "horizon",
    "open_store",
]
