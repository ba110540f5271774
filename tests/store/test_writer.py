"""The record writer: never blocks, survives a store that is down, flushes without a gap."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from roomscribe import metrics
from roomscribe.store import RecordOptions, RecordWriter
from roomscribe.store.sqlite import BUSY_TIMEOUT_S
from tests.store.helpers import segment


def wait_for(predicate: object, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.02)
    return False


def test_writes_finals_and_revisions_in_publishing_order(tmp_path: Path) -> None:
    writer = RecordWriter(RecordOptions(data_dir=tmp_path))
    writer.start()
    try:
        t = time.time()
        for n in range(50):
            writer.put(segment(n, final_at=t + n))
        writer.put(segment(7, "seven, revised.", revision=1, final_at=t + 60))
        assert wait_for(lambda: writer.pending == 0)
    finally:
        writer.close()
    stored = writer.store.segments("standup")
    assert [s.segment_id for s in stored] == [segment(n).segment_id for n in range(50)]
    assert stored[7].text == "seven, revised."


def test_a_locked_store_delays_writes_then_gets_them_all(tmp_path: Path) -> None:
    """Another process holds the database (a stuck backup, a full disk behaves alike):
    put() keeps returning at once, failures are counted, and once the store is
    back every queued final is written, none missing, revisions applied."""
    writer = RecordWriter(RecordOptions(data_dir=tmp_path, retry_s=0.2))
    writer.start()
    failures_before = metrics.RECORD_WRITE_FAILURES._value.get()
    blocker = sqlite3.connect(writer.store.path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        t = time.time()
        slowest = 0.0
        for n in range(200):
            began = time.perf_counter()
            writer.put(segment(n, final_at=t + n))
            slowest = max(slowest, time.perf_counter() - began)
        writer.put(segment(3, "three, revised.", revision=1, final_at=t + 300))
        # the caller never waits for the store (a write would block for the busy
        # timeout); the bound leaves room for a loaded machine's thread switches
        assert slowest < BUSY_TIMEOUT_S / 2, slowest
        assert wait_for(lambda: writer.failures >= 1, 15)
        assert writer.pending == 200
        # a backlog read while the store is down still has the queued finals
        # (reads are blocked too: the reader falls back to memory, see the captioner)
    finally:
        blocker.rollback()
        blocker.close()
    try:
        assert wait_for(lambda: writer.pending == 0, 20)
    finally:
        writer.close()
    assert metrics.RECORD_WRITE_FAILURES._value.get() > failures_before
    stored = writer.store.segments("standup")
    assert [s.segment_id for s in stored] == [segment(n).segment_id for n in range(200)]
    assert stored[3].text == "three, revised."


def test_reads_include_what_is_still_queued(tmp_path: Path) -> None:
    writer = RecordWriter(RecordOptions(data_dir=tmp_path, retry_s=0.2))
    writer.start()
    try:
        t = time.time()
        writer.put(segment(1, final_at=t))
        assert wait_for(lambda: writer.pending == 0)
        gate = threading.Event()
        original = writer.store.write

        def stuck(segments: object) -> None:
            gate.wait(10)
            raise sqlite3.OperationalError("disk I/O error")

        writer.store.write = stuck  # type: ignore[method-assign]
        writer.put(segment(2, final_at=t + 1))
        writer.put(segment(1, "one, revised.", revision=1, final_at=t + 2))
        got = writer.segments("standup")
        assert [(s.segment_id[-1], s.text) for s in got] == [
            ("1", "one, revised."),
            ("2", "sentence 2."),
        ]
        writer.store.write = original  # type: ignore[method-assign]
        gate.set()
        assert wait_for(lambda: writer.pending == 0)
    finally:
        writer.close()
    assert [s.text for s in writer.store.segments("standup")] == ["one, revised.", "sentence 2."]


def test_a_full_queue_drops_the_oldest(tmp_path: Path) -> None:
    writer = RecordWriter(RecordOptions(data_dir=tmp_path, max_queued=10))
    # not started: nothing drains the queue
    for n in range(15):
        writer.put(segment(n))
    assert writer.pending == 10
    assert writer.dropped == 5
