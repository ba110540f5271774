"""Writes finals into the transcript store from one thread, never blocking a caller.

:meth:`RecordWriter.put` only appends to a bounded queue, so the event loops
that publish captions (one per room, in the worker's job threads) never wait
for the store. The writer thread takes what is queued and writes it in one
transaction. When the store fails (disk full, file locked, Redis down) the
batch stays queued, the failure is logged and counted
(``roomscribe_record_write_failures_total``), and the thread tries again after
a pause: when the store is back, everything queued meanwhile is written, in
order. Live captions never depend on the store. Past ``max_queued`` pending
segments (a store down for a long time) the oldest are dropped and counted
(``roomscribe_record_dropped_total``): memory stays bounded.

A revision queued while its final still waits replaces it in the queue.
:meth:`RecordWriter.segments` reads the store and adds what is still queued,
so a backlog read during an outage still has this process's finals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from roomscribe import metrics
from roomscribe.store.model import StoredSegment, TranscriptStore, horizon
from roomscribe.store.sqlite import SqliteStore

log = logging.getLogger(__name__)

DEFAULT_RETENTION_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class RecordOptions:
    """Where the transcript of record is kept and for how long."""

    data_dir: Path
    """The SQLite store is ``data_dir/transcripts.sqlite3``."""
    redis_url: str = ""
    """When set (``redis://host:port/db``, ``rediss://``), the store is this Redis
    instead, shared by every machine (see :mod:`roomscribe.store.redis`)."""
    retention_s: float = DEFAULT_RETENTION_S
    """Segments whose first final is older are deleted and never read."""
    max_queued: int = 50_000
    """Segments waiting for the store past this drop the oldest (about an hour of
    50 busy rooms: a store down that long loses its oldest writes, not the process)."""
    retry_s: float = 2.0
    """Pause after a failed write before the next attempt."""
    purge_every_s: float = 600.0
    """How often expired segments are deleted."""


def open_store(options: RecordOptions) -> TranscriptStore:
    """The store ``options`` name, not yet created (see ``create()``)."""
    if options.redis_url:
        from roomscribe.store.redis import RedisStore  # only deployments with Redis load it

        return RedisStore(options.redis_url, retention_s=options.retention_s)
    return SqliteStore(options.data_dir)


class RecordWriter:
    """The process's one writer of the transcript store; ``start()`` / ``close()``."""

    def __init__(self, options: RecordOptions) -> None:
        self.options = options
        self.store = open_store(options)
        self._queue: OrderedDict[tuple[str, str], StoredSegment] = OrderedDict()
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._closing = False
        self._thread: threading.Thread | None = None
        self._failing = False
        self.written = 0
        """Segments (and revisions) written."""
        self.failures = 0
        """Failed write attempts."""
        self.dropped = 0
        """Segments dropped because the queue was full."""

    @property
    def pending(self) -> int:
        """Segments queued, not yet in the store."""
        with self._lock:
            return len(self._queue)

    def start(self) -> None:
        """Create the store if needed (raises if it is unusable) and start writing."""
        self.store.create()
        self._purge()
        metrics.RECORD_PENDING.set_function(lambda: self.pending)
        self._thread = threading.Thread(target=self._run, name="record-writer", daemon=True)
        self._thread.start()

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is queued (for at most ``timeout_s``), then stop."""
        with self._lock:
            self._closing = True
            self._wakeup.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.error("gave up writing %d segment(s) to the transcript store", self.pending)
            self._thread = None
        self.store.close()

    def put(self, segment: StoredSegment) -> None:
        """Queue a final or a revision for the store; returns at once, never raises."""
        key = (segment.room, segment.segment_id)
        with self._lock:
            queued = self._queue.get(key)
            if queued is not None and not segment.replaces(queued):
                return
            # a revision keeps its final's place in the queue, and its times
            self._queue[key] = segment if queued is None else queued.revised(segment)
            if len(self._queue) > self.options.max_queued:
                self._queue.popitem(last=False)
                self.dropped += 1
                metrics.RECORD_DROPPED.inc()
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.error("transcript store: %d segment(s) dropped, queue full", self.dropped)
            self._wakeup.notify()

    def segments(self, room: str, *, meeting: str | None = None) -> list[StoredSegment]:
        """The room's record (stored, plus this process's queued writes); blocking.

        Raises the store's error if it cannot be read.
        """
        since = horizon(self.options.retention_s)
        stored = {s.segment_id: s for s in self.store.segments(room, since=since, meeting=meeting)}
        with self._lock:
            queued = [s for (r, _), s in self._queue.items() if r == room]
        for s in queued:
            if meeting is not None and s.meeting != meeting:
                continue
            old = stored.get(s.segment_id)
            if old is None or s.replaces(old):
                # the stored row's place and times hold: only text and revision change
                stored[s.segment_id] = s if old is None else old.revised(s)
        return sorted(stored.values(), key=lambda s: s.final_at)

    def _run(self) -> None:
        next_purge = time.monotonic() + self.options.purge_every_s
        while True:
            with self._lock:
                while not self._queue and not self._closing:
                    self._wakeup.wait(timeout=max(0.0, next_purge - time.monotonic()))
                    if time.monotonic() >= next_purge:
                        break
                batch = list(self._queue.values())
                closing = self._closing
            if time.monotonic() >= next_purge:
                self._purge()
                next_purge = time.monotonic() + self.options.purge_every_s
            if batch and not self._write(batch):
                if closing:
                    return
                with self._lock:
                    self._wakeup.wait(timeout=self.options.retry_s)
                continue
            if closing and not self.pending:
                return

    def _write(self, batch: list[StoredSegment]) -> bool:
        try:
            self.store.write(batch)
        except Exception as e:  # the store is down: keep the batch, try again
            self.failures += 1
            self._failing = True
            metrics.RECORD_WRITE_FAILURES.inc()
            log.warning(
                "transcript store: cannot write %d segment(s) (%s); retrying", len(batch), e
            )
            return False
        with self._lock:
            for s in batch:
                key = (s.room, s.segment_id)
                if self._queue.get(key) is s:  # not revised meanwhile
                    del self._queue[key]
        if self._failing:
            log.info("transcript store is back: wrote %d queued segment(s)", len(batch))
            self._failing = False
        self.written += len(batch)
        return True

    def _purge(self) -> None:
        try:
            deleted = self.store.purge(horizon(self.options.retention_s))
        except Exception as e:
            log.warning("transcript store: cannot delete expired transcripts: %s", e)
            return
        if deleted:
            log.info("transcript store: deleted %d expired segment(s)", deleted)
