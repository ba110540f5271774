import io
import json

from roomscribe.asr.events import Caption, Word
from roomscribe.formats import CaptionWriter, timestamp

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
    assert out.getvalue() == "1\n00:00:01,000 --> 00:00:02,250\nHello there.\n\n"
    out = io.StringIO()
    w = CaptionWriter("vtt", out)
    w.write(CAP, 2.6)
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
