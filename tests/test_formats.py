import io
import json
from dataclasses import replace

from roomscribe.asr.events import Caption, Word
from roomscribe.formats import CaptionWriter, render_transcript, timestamp, transcript_lines

CAP = Caption(
    "s1-0",
    "Hello there.",
    True,
    (Word(1.0, 1.4, " Hello", 0.9), Word(1.5, 2.25, " there.", 0.8)),
    1.0,
    2.25,
    "en",
)


def test_timestamps() -> None:
    assert timestamp(3723.4567) == "01:02:03,457"
    assert timestamp(0.0, ".") == "00:00:00.000"


def test_srt_and_vtt_cues() -> None:
    out = io.StringIO()
    w = CaptionWriter("srt", out)
    w.write(Caption("s1-0", "Hel", False, (), 1.0, 1.2, "en"), 1.3)  # interim: not a cue
    w.write(CAP, 2.6)
    w.close()
    assert out.getvalue() == "1\n00:00:01,000 --> 00:00:02,250\nHello there.\n\n"
    out = io.StringIO()
    w = CaptionWriter("vtt", out)
    w.write(CAP, 2.6)
    w.close()
    assert out.getvalue() == "WEBVTT\n\n00:00:01.000 --> 00:00:02.250\nHello there.\n\n"


def test_jsonl_has_the_scorer_fields() -> None:
    out = io.StringIO()
    CaptionWriter("jsonl", out).write(CAP, 2.6)
    rec = json.loads(out.getvalue())
    assert rec["emitted_at"] == 2.6
    assert rec["segment_id"] == "s1-0"
    assert rec["final"] is True
    assert rec["text"] == "Hello there."
    assert rec["words"][1] == {"start": 1.5, "end": 2.25, "text": " there.", "probability": 0.8}


def test_downloads_use_the_revised_text_and_jsonl_logs_the_revision() -> None:
    later = Caption("s1-1", "Press to.", True, (), 3.0, 3.6, "en")
    revised = Caption("s1-1", "Press two.", True, (), 3.0, 3.6, "en", revision=1)
    for fmt, expected in (
        (
            "srt",
            "1\n00:00:01,000 --> 00:00:02,250\nHello there.\n\n"
            "2\n00:00:03,000 --> 00:00:03,600\nPress two.\n\n",
        ),
        ("text", "[00:01.00] Hello there.\n[00:03.00] Press two.\n"),
    ):
        out = io.StringIO()
        w = CaptionWriter(fmt, out)
        for c, at in ((CAP, 2.6), (later, 4.0), (revised, 9.0)):
            w.write(c, at)
        w.close()
        assert out.getvalue() == expected
    out = io.StringIO()
    w = CaptionWriter("jsonl", out)
    w.write(later, 4.0)
    w.write(revised, 9.0)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["text"], r["revision"]) for r in records] == [("Press to.", 0), ("Press two.", 1)]


def test_a_stored_transcript_counts_from_the_room_creation() -> None:
    from tests.store.helpers import segment

    t = 1_800_000_000.0
    said = [segment(1, "Hi.", final_at=t + 10), segment(2, "Hello.", final_at=t + 15)]
    # spoken_at is a second before final_at; the room was created at t
    started = [replace(s, room_started_at=t) for s in said]
    assert render_transcript("txt", transcript_lines(started)) == (
        "[00:09] Ada Lovelace: Hi.\n[00:14] Ada Lovelace: Hello.\n"
    )
    # a record without the room's creation counts from its first speech
    assert [line.start for line in transcript_lines(said)] == [0.0, 5.0]
