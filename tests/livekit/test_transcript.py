"""The transcript of record: latest final text per segment, revisions, memory bounds."""

from __future__ import annotations

import json

from roomscribe.asr.events import Caption
from roomscribe.livekit.transcript import RoomTranscript


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def caption(sid: str, text: str, *, final: bool = True, revision: int = 0) -> Caption:
    return Caption(sid, text, final, (), 1.0, 2.0, "en", revision)


def record(t: RoomTranscript, c: Caption, speaker: str = "ada") -> None:
    t.record(c, speaker=speaker, speaker_name=speaker.title(), track_id="TR_1")


def texts(t: RoomTranscript) -> list[tuple[str, str, int]]:
    return [(s.segment_id, s.text, s.revision) for s in t.segments()]


def test_finals_only_latest_revision_wins_in_first_final_order() -> None:
    t = RoomTranscript()
    record(t, caption("a", "Hello the", final=False))
    record(t, caption("a", " Hello there. "))
    record(t, caption("b", "How are you?"))
    record(t, caption("a", "Hello, there.", revision=1))
    record(t, caption("c", "", final=True))  # nothing said: not in the backlog
    assert texts(t) == [("a", "Hello, there.", 1), ("b", "How are you?", 0)]
    # a live final or an older revision arriving late does not undo a revision
    record(t, caption("a", "Hello there."))
    assert texts(t)[0] == ("a", "Hello, there.", 1)
    payload = json.loads(t.backlog_payload())
    assert payload[0] == {
        "speaker": "ada",
        "speaker_name": "Ada",
        "track_id": "TR_1",
        "segment_id": "a",
        "text": "Hello, there.",
        "start": 1.0,
        "end": 2.0,
        "language": "en",
        "revision": 1,
    }


def test_bounded_by_age_and_count() -> None:
    clock = Clock()
    t = RoomTranscript(max_age_s=60.0, max_segments=3, clock=clock)
    for i in range(5):
        record(t, caption(f"s{i}", f"sentence {i}."))
        clock.now += 10
    assert [s.segment_id for s in t.segments()] == ["s2", "s3", "s4"]
    # a revision keeps its segment's age: s2 (said at 1020) is forgotten at 1080+
    record(t, caption("s2", "Sentence two.", revision=1))
    clock.now = 1081.0
    assert [s.segment_id for s in t.segments()] == ["s3", "s4"]
    clock.now = 2000.0
    assert t.segments() == []
    assert len(t) == 0
