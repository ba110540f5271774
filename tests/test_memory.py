"""Free heap pages go back to the system (glibc)."""

from __future__ import annotations

import sys
import threading

import psutil
import pytest

from roomscribe import memory

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")

MB = 1 << 20


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


def test_trim_returns_memory_freed_by_another_thread() -> None:
    kept: list[bytes] = []

    def churn() -> None:
        # below the mmap threshold, so the chunks come from the thread's arena;
        # every 16th survives and pins the arena's pages around it
        chunks = [bytes(60_000) for _ in range(4000)]
        kept.extend(chunks[::16])
        chunks.clear()

    worker = threading.Thread(target=churn)
    worker.start()
    worker.join()
    before = _rss()
    assert memory.trim()
    after = _rss()
    assert before - after > 20 * MB, (before // MB, after // MB)
    assert len(kept) == 250


def test_arena_limit_is_accepted() -> None:
    assert memory.limit_arenas(memory.ARENAS)
