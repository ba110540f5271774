"""The Redis transcript store: a capped stream per room that expires, a room index,
duplicates harmless, and the record writer riding out a Redis that was killed."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from roomscribe.store import RecordOptions, RecordWriter
from roomscribe.store.redis import INDEX, MAX_ENTRIES, PREFIX, RedisStore
from tests.fixtures.redis import running_redis
from tests.store.helpers import segment
from tests.store.test_writer import wait_for


def test_a_stream_per_room_expiring_with_the_retention(redis_url: str) -> None:
    store = RedisStore(redis_url, retention_s=7200)
    store.create()
    t = time.time()
    batch = [segment(1, final_at=t), segment(2, final_at=t + 1), segment(3, room="retro")]
    store.write(batch)
    store.write([segment(1, "one, revised.", revision=1, final_at=t + 9)])
    store.write(batch)  # a write retried after a lost reply: appended twice
    db = redis.Redis.from_url(redis_url, decode_responses=True)
    assert db.type(PREFIX + "standup") == "stream"
    assert db.xlen(PREFIX + "standup") == 5  # finals and revisions, as published
    assert 7100 < db.ttl(PREFIX + "standup") <= 7200
    assert 7100 < db.ttl(INDEX) <= 7200
    assert db.zrange(INDEX, 0, -1) == ["retro", "standup"]
    info = db.xinfo_stream(PREFIX + "standup")
    assert info["length"] <= MAX_ENTRIES
    got = store.segments("standup")
    assert [(s.segment_id[-1], s.text, s.final_at) for s in got] == [
        ("1", "one, revised.", t),
        ("2", "sentence 2.", t + 1),
    ]
    assert "***" in RedisStore("redis://:hunter2@127.0.0.1:1/0", retention_s=1).location


def test_purge_trims_the_entries_written_before_the_cut(redis_url: str) -> None:
    store = RedisStore(redis_url, retention_s=3600)
    store.write([segment(1), segment(2), segment(9, room="retro")])
    time.sleep(0.01)
    cut = time.time()
    time.sleep(0.01)
    store.write([segment(3)])
    assert store.purge(before=cut) == 3
    assert [s.segment_id[-1] for s in store.segments("standup")] == ["3"]
    assert store.segments("retro") == []
    assert [r.room for r in store.rooms()] == ["standup"]


def test_the_writer_queues_while_redis_is_down_and_flushes_when_it_is_back(
    tmp_path: Path,
) -> None:
    """kill -9, then the same Redis (its append-only file) on the same port: put()
    never waits, failures are counted, and afterwards the record has every final."""
    with running_redis(tmp_path / "redis", tmp_path / "redis.log", persist=True) as server:
        writer = RecordWriter(RecordOptions(tmp_path, redis_url=server.url, retry_s=0.2))
        writer.start()
        try:
            t = time.time()
            for n in range(20):
                writer.put(segment(n, final_at=t + n))
            assert wait_for(lambda: writer.pending == 0)
            server.kill()
            slowest = 0.0
            for n in range(20, 50):
                began = time.perf_counter()
                writer.put(segment(n, final_at=t + n))
                slowest = max(slowest, time.perf_counter() - began)
            writer.put(segment(3, "three, revised.", revision=1, final_at=t + 60))
            assert slowest < 0.05  # the caller never waits for the store
            assert wait_for(lambda: writer.failures >= 2)
            assert writer.pending == 31
            server.start()
            assert wait_for(lambda: writer.pending == 0), "not flushed"
        finally:
            writer.close()
        stored = writer.store.segments("standup")
    assert [s.segment_id for s in stored] == [segment(n).segment_id for n in range(50)]
    assert stored[3].text == "three, revised."
    assert writer.dropped == 0
