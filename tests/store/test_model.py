"""What every transcript store does (SQLite and Redis alike): revisions replace
by segment id in place, order, meetings, rooms, retention on read, delete."""

from __future__ import annotations

import time

from roomscribe.store import TranscriptStore
from tests.store.helpers import segment


def test_revisions_replace_their_final_in_place_and_never_go_back(
    store: TranscriptStore,
) -> None:
    t = time.time()
    store.write([segment(1, final_at=t), segment(2, final_at=t + 1), segment(3, final_at=t + 2)])
    store.write([segment(2, "sentence two, revised.", revision=1, final_at=t + 5)])
    store.write([segment(2, "an older revision, late.", revision=0, final_at=t + 6)])
    got = store.segments("standup")
    assert [(s.segment_id[-1], s.text, s.revision) for s in got] == [
        ("1", "sentence 1.", 0),
        ("2", "sentence two, revised.", 1),
        ("3", "sentence 3.", 0),
    ]
    assert got[1].final_at == t + 1  # a revision keeps its segment's place and age


def test_meetings_rooms_retention_and_delete(store: TranscriptStore) -> None:
    now = time.time()
    store.write(
        [
            segment(1, room="standup", meeting="RM_old", final_at=now - 3 * 3600),
            segment(2, room="standup", meeting="RM_new", final_at=now - 60),
            segment(3, room="retro", final_at=now - 30),
        ]
    )
    assert [s.meeting for s in store.segments("standup", meeting="RM_new")] == ["RM_new"]
    assert [r.room for r in store.rooms()] == ["retro", "standup"]
    assert [(r.room, r.segments) for r in store.rooms(since=now - 3600)] == [
        ("retro", 1),
        ("standup", 1),
    ]
    assert [s.meeting for s in store.segments("standup", since=now - 3600)] == ["RM_new"]

    assert store.delete("standup") == 2
    assert store.segments("standup") == []
    assert [r.room for r in store.rooms()] == ["retro"]
    assert store.delete("never-held") == 0
