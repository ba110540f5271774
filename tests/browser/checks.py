"""Assertions on one participant's report from ``session.mjs``, shared by both modes."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.browser.scoring import windowed_wer

MAX_WER = 0.10
"""Measured 0 % (tiny.en, the 25 s fake-mic cut of allison-a, every browser test,
2026-12-07); the slack is for a mic that starts mid-utterance and a last
utterance cut short by the mute."""
MIN_WORDS = 20
"""Final words the speaker's transcript must reach before the mic is muted."""

TXT_LINE = re.compile(r"^\[(\d\d:\d\d)\] (.+?): (.+)$")
SRT_TIME = r"\d\d:\d\d:\d\d,\d\d\d"
VTT_TIME = r"\d\d:\d\d:\d\d\.\d\d\d"


def participant(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in report["participants"] if p["name"] == name)


def connected_without_errors(p: dict[str, Any]) -> None:
    assert p["pageErrors"] == [], p["name"]
    assert p["status"] == "connected", p
    assert p["error"] == "", p


def captions_by(p: dict[str, Any], speaker: str) -> None:
    """Enough final words, every caption labelled with ``speaker``, and muted at the end."""
    words = sum(len(e["text"].split()) for e in p["transcript"])
    assert words >= MIN_WORDS, p["transcript"]
    assert {e["speaker"] for e in p["transcript"]} == {speaker}
    assert p["captions"], "no live captions on screen"
    assert {c["speaker"] for c in p["captions"]} == {speaker}
    assert p["mic"] == "false", "mic-toggle did not mute"


def interims_replaced_in_place(p: dict[str, Any]) -> None:
    log = p["captionLog"]
    interims = {e["segment"]: e["node"] for e in log if not e["final"]}
    finals = {e["segment"]: e["node"] for e in log if e["final"]}
    assert interims, "no interim caption was ever shown"
    replaced = [seg for seg in interims if seg in finals]
    assert replaced, "no interim caption became final"
    for seg in replaced:
        assert interims[seg] == finals[seg], f"segment {seg} got a new element when final"
    # Interim text is styled apart (italic) from final text.
    assert all(e["italic"] for e in log if not e["final"]), log
    assert not any(e["italic"] for e in log if e["final"]), log
    # The stable-display rule: until its final, a segment's line never gets shorter.
    for seg in interims:
        lengths = [len(e["text"]) for e in log if e["segment"] == seg and not e["final"]]
        assert lengths == sorted(lengths), (seg, [e["text"] for e in log if e["segment"] == seg])


def finals_announced_once(p: dict[str, Any]) -> None:
    """Screen-reader mode: the live region holds each final once, "Speaker: text";
    interims are hidden from assistive tech, finals are not."""
    log = p["captionLog"]
    assert all(e["ariaHidden"] for e in log if not e["final"]), log
    assert not any(e["ariaHidden"] for e in log if e["final"]), log
    first_finals: dict[tuple[str, str], str] = {}
    for e in log:
        if e["final"] and e["text"]:
            first_finals.setdefault((e["segment"], e["speaker"]), f"{e['speaker']}: {e['text']}")
    expected = list(first_finals.values())
    assert expected, "no final caption was shown"
    # the region keeps the latest 20 announcements
    assert p["announced"] == expected[-20:], (p["announced"], expected)


def txt_matches_screen(p: dict[str, Any]) -> None:
    assert p["transcriptAfterDownload"] == p["transcript"], "captions changed mid-download"
    txt = p["downloads"]["txt"]
    assert txt["filename"].endswith(".txt")
    lines = [TXT_LINE.match(line) for line in txt["text"].splitlines()]
    assert all(lines), txt["text"]
    parsed = [{"time": m[1], "speaker": m[2], "text": m[3]} for m in lines if m]
    assert parsed == p["transcript"]


def other_formats_match_screen(p: dict[str, Any], speaker: str) -> None:
    texts = [e["text"] for e in p["transcript"]]
    downloads = p["downloads"]

    rows = json.loads(downloads["json"]["text"])
    assert [r["text"] for r in rows] == texts
    assert {r["speaker"] for r in rows} == {speaker}
    fields = {"speaker", "segment_id", "start", "end", "text", "language"}
    assert all(set(r) == fields for r in rows)
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)
    assert all(r["start"] <= r["end"] for r in rows)

    srt_cues = downloads["srt"]["text"].strip().split("\n\n")
    assert len(srt_cues) == len(texts)
    for i, (cue, text) in enumerate(zip(srt_cues, texts, strict=True), start=1):
        pattern = rf"{i}\n{SRT_TIME} --> {SRT_TIME}\n{re.escape(speaker)}: {re.escape(text)}"
        assert re.fullmatch(pattern, cue), cue

    vtt = downloads["vtt"]["text"]
    assert vtt.startswith("WEBVTT\n\n")
    vtt_cues = vtt.removeprefix("WEBVTT\n\n").strip().split("\n\n")
    assert len(vtt_cues) == len(texts)
    for cue in vtt_cues:
        assert re.fullmatch(rf"{VTT_TIME} --> {VTT_TIME}\n<v {re.escape(speaker)}>.+", cue), cue


def word_error_rate_within_bound(
    p: dict[str, Any], reference: str, min_words: int = MIN_WORDS
) -> None:
    hypothesis = " ".join(e["text"] for e in p["transcript"])
    score = windowed_wer(reference, hypothesis)
    assert score.hyp_words >= min_words
    assert score.wer <= MAX_WER, (score, hypothesis)


def no_serious_accessibility_violations(axe: dict[str, Any], pages: set[str]) -> None:
    """axe-core ran on each of ``pages`` and found nothing serious or critical there."""
    assert set(axe) == pages, axe
    for page, result in axe.items():
        assert result["passes"] > 10, (page, result)  # axe did run
        serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
        assert serious == [], (page, serious)
