"""The transcript store under a busy worker: write latency and store size per meeting hour.

    PYTHONPATH=$PWD/agent .venv/bin/python scripts/bench_store.py [--rooms 50 --talkers 4
        --minutes 10 --speed 10] [--redis redis://127.0.0.1:6379/15]

A synthetic writer plays ``--minutes`` of meeting in ``--rooms`` rooms with
``--talkers`` people each, ``--speed`` times faster than real time: every
talker's final comes every 3-5 s (about 12 words), and half the finals get a
revision 5-10 s later, as the revision pass does. Everything goes through one
:class:`~roomscribe.store.RecordWriter` (a worker's single writer thread) into
SQLite in a temporary data dir, or with ``--redis`` into that Redis database
(emptied first: give it a database of its own). Prints the caller's cost of
``put()`` (what the event loop pays), the time from ``put()`` to the commit
holding it, p50/p99/max, and the store's size per hour of meeting (per room
and for all rooms: the SQLite files, or Redis's ``MEMORY USAGE`` of its keys).
"""

from __future__ import annotations

import argparse
import heapq
import random
import statistics
import tempfile
import time
from pathlib import Path

from roomscribe.store import RecordOptions, RecordWriter, StoredSegment, TranscriptStore

SENTENCE = (
    "so the next thing we should look at is the latency of the captions when "
    "several people talk at once and whether the revision pass keeps up with them"
)
WORDS = tuple(SENTENCE.split(" "))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def store_size(store: TranscriptStore, redis_url: str) -> int:
    """Bytes the store takes: its files, or the memory of its Redis keys."""
    if not redis_url:
        db = Path(store.location)
        return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))
    import redis

    client = redis.Redis.from_url(redis_url)
    return sum(client.memory_usage(key, samples=0) or 0 for key in client.scan_iter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--talkers", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--speed", type=float, default=10.0, help="times faster than real time")
    parser.add_argument("--redis", default="", help="a Redis URL to write to instead of SQLite")
    args = parser.parse_args()
    rng = random.Random(31)
    meeting_s = args.minutes * 60

    # (meeting time, room, talker, n, revision) of every write, in time order
    events: list[tuple[float, int, int, int, int]] = []
    for room in range(args.rooms):
        for talker in range(args.talkers):
            t, n = rng.uniform(0, 4), 0
            while t < meeting_s:
                events.append((t, room, talker, n, 0))
                if rng.random() < 0.5:
                    events.append((t + rng.uniform(5, 10), room, talker, n, 1))
                t += rng.uniform(3, 5)
                n += 1
    heapq.heapify(events)

    with tempfile.TemporaryDirectory(prefix="roomscribe-bench-store-") as tmp:
        if args.redis:
            import redis

            redis.Redis.from_url(args.redis).flushdb()
        writer = RecordWriter(RecordOptions(data_dir=Path(tmp), redis_url=args.redis))
        writer.start()
        put_at: dict[tuple[str, str, int], float] = {}
        committed: list[float] = []
        write = writer.store.write

        def timed_write(segments: list[StoredSegment]) -> None:
            write(segments)
            done = time.perf_counter()
            for s in segments:
                began = put_at.pop((s.room, s.segment_id, s.revision), None)
                if began is not None:
                    committed.append(done - began)

        writer.store.write = timed_write  # type: ignore[method-assign]
        put_costs: list[float] = []
        wall0 = time.time()
        start = time.perf_counter()
        while events:
            t, room, talker, n, revision = heapq.heappop(events)
            delay = start + t / args.speed - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            words = rng.randint(6, 18)
            text = " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."
            segment = StoredSegment(
                room=f"room-{room:03d}",
                segment_id=f"TR_{room:03d}{talker}-s1.abcdef-{n}",
                meeting=f"RM_{room:03d}",
                speaker=f"talker-{talker}",
                speaker_name=f"Talker {talker}",
                track_id=f"TR_{room:03d}{talker}",
                text=text,
                start=t,
                end=t + words * 0.35,
                spoken_at=wall0 + t,
                final_at=wall0 + t + 1.0,
                language="en",
                revision=revision,
            )
            began = time.perf_counter()
            put_at[(segment.room, segment.segment_id, revision)] = began
            writer.put(segment)
            put_costs.append(time.perf_counter() - began)
        while writer.pending:
            time.sleep(0.01)
        elapsed = time.perf_counter() - start
        writer.close()
        size = store_size(writer.store, args.redis)
        segments = len(writer.store.segments("room-000"))

    hours = meeting_s / 3600
    ms = 1000.0
    print(
        f"{writer.store.location}: {args.rooms} rooms x {args.talkers} talkers, "
        f"{args.minutes:g} min of meeting in {elapsed:.1f} s ({args.speed:g}x real time)"
    )
    print(
        f"writes: {len(put_costs)} ({len(put_costs) / (meeting_s / args.speed):.0f}/s), "
        f"failures {writer.failures}, dropped {writer.dropped}"
    )
    print(
        f"put() cost: p50 {statistics.median(put_costs) * 1e6:.1f} us, "
        f"p99 {percentile(put_costs, 0.99) * 1e6:.1f} us, max {max(put_costs) * ms:.2f} ms"
    )
    print(
        f"put() -> committed: p50 {statistics.median(committed) * ms:.2f} ms, "
        f"p99 {percentile(committed, 0.99) * ms:.2f} ms, max {max(committed) * ms:.2f} ms"
    )
    print(
        f"store: {size / 1e6:.2f} MB for {hours * args.rooms:.2f} room-hours -> "
        f"{size / hours / args.rooms / 1e3:.0f} kB per room-hour "
        f"({segments / hours:.0f} segments), {size / hours / 1e6:.1f} MB per hour of "
        f"all {args.rooms} rooms"
    )


if __name__ == "__main__":
    main()
