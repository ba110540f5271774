"""Caption output formats: text, JSON lines, SRT, WebVTT.

JSON lines is the event log: every caption as it happened, revisions included
(``revision`` > 0 replaces the final with the same ``segment_id``). SRT,
WebVTT and text written to a file are the transcript of record: each segment's
latest final text (revised where the revision pass changed it), written when
the writer closes. Text on a terminal shows captions live.

A room's stored transcript (:mod:`roomscribe.store`) is rendered by
:func:`render_transcript` in the web client's download formats (``txt``,
``srt``, ``vtt``, ``json``: the same text as ``web-client/src/export.ts``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TextIO

from roomscribe.asr.events import Caption
from roomscribe.protocol import word_records

if TYPE_CHECKING:
    from roomscribe.store import StoredSegment

FORMATS = ("text", "jsonl", "srt", "vtt")
TranscriptFormat = Literal["txt", "srt", "vtt", "json"]
TRANSCRIPT_FORMATS: tuple[TranscriptFormat, ...] = ("txt", "srt", "vtt", "json")
MEDIA_TYPES: dict[TranscriptFormat, str] = {
    "txt": "text/plain; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "json": "application/json",
}


def timestamp(seconds: float, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT) or with ``sep="."`` ``HH:MM:SS.mmm`` (WebVTT)."""
    ms = max(0, round(seconds * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def caption_record(caption: Caption, emitted_at: float) -> dict[str, Any]:
    """The JSON-lines form of one caption event (read by ``captions_score.py``)."""
    return {
        "emitted_at": round(emitted_at, 3),
        "segment_id": caption.segment_id,
        "text": caption.text,
        "final": caption.final,
        "start": round(caption.start, 3),
        "end": round(caption.end, 3),
        "language": caption.language,
        "revision": caption.revision,
        "words": word_records(caption.words),
    }


class CaptionWriter:
    """Writes caption events in one of :data:`FORMATS` (see the module doc for when)."""

    def __init__(self, fmt: str, out: TextIO) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        self._fmt = fmt
        self._out = out
        self._cue = 0
        self._interim_shown = False
        self._live = fmt == "text" and out.isatty()
        self._finals: dict[str, Caption] = {}
        """Latest final of each segment, in the order segments were first finalized."""
        if fmt == "vtt":
            out.write("WEBVTT\n\n")

    def write(self, caption: Caption, emitted_at: float) -> None:
        if self._fmt == "jsonl":
            self._out.write(json.dumps(caption_record(caption, emitted_at)) + "\n")
        elif self._live:
            self._text(caption)
        elif caption.final:
            self._finals[caption.segment_id] = caption
        self._out.flush()

    def _cue_of(self, caption: Caption) -> None:
        if self._fmt == "text":
            self._text(caption)
            return
        self._cue += 1
        sep = "," if self._fmt == "srt" else "."
        head = f"{self._cue}\n" if self._fmt == "srt" else ""
        span = f"{timestamp(caption.start, sep)} --> {timestamp(caption.end, sep)}"
        self._out.write(f"{head}{span}\n{caption.text}\n\n")

    def _text(self, caption: Caption) -> None:
        if self._live:
            self._out.write("\r\033[K")
            if not caption.final:
                self._out.write(f"… {caption.text}")
                return
        if caption.final and caption.text:
            self._out.write(f"[{timestamp(caption.start, '.')[3:-1]}] {caption.text}\n")

    def close(self) -> None:
        """Write the transcript of record (SRT, WebVTT, text to a file)."""
        if self._live:
            self._out.write("\r\033[K")
        for caption in self._finals.values():
            if caption.text:
                self._cue_of(caption)
        self._finals.clear()
        self._out.flush()


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One final segment of a room's transcript, as downloaded."""

    speaker: str
    """The display name the server issued."""
    segment_id: str
    start: float
    """Seconds since the room started."""
    end: float
    text: str
    language: str | None


def transcript_lines(segments: Sequence[StoredSegment]) -> list[TranscriptLine]:
    """A room's stored segments as transcript lines, in speaking order, times
    counted from the room's creation (the first segment's if the record lacks it)."""
    if not segments:
        return []
    # min with the speech itself: the LiveKit server's clock may be ahead of the worker's
    origin = min(s.spoken_at for s in segments)
    origin = min([origin, *(s.room_started_at for s in segments if s.room_started_at > 0)])
    return [
        TranscriptLine(
            speaker=s.speaker_name,
            segment_id=s.segment_id,
            start=s.spoken_at - origin,
            end=s.spoken_at - origin + (s.end - s.start),
            text=s.text,
            language=s.language,
        )
        for s in sorted(segments, key=lambda s: (s.spoken_at, s.final_at))
    ]


def render_transcript(fmt: TranscriptFormat, lines: Sequence[TranscriptLine]) -> str:
    """A whole transcript in ``fmt``: lines with text, in the order given."""
    kept = [line for line in lines if line.text.strip()]
    if fmt == "txt":
        return "".join(f"[{_clock(x.start)}] {x.speaker}: {x.text.strip()}\n" for x in kept)
    if fmt == "srt":
        return "\n".join(
            f"{i}\n{timestamp(x.start)} --> {timestamp(max(x.start, x.end))}\n"
            f"{x.speaker}: {x.text.strip()}\n"
            for i, x in enumerate(kept, 1)
        )
    if fmt == "vtt":
        cues = [
            f"{timestamp(x.start, '.')} --> {timestamp(max(x.start, x.end), '.')}\n"
            f"<v {_vtt_escape(x.speaker)}>{_vtt_escape(x.text.strip())}\n"
            for x in kept
        ]
        return "\n".join(["WEBVTT\n", *cues])
    rows = [
        {
            "speaker": x.speaker,
            "segment_id": x.segment_id,
            "start": round(x.start, 3),
            "end": round(max(x.start, x.end), 3),
            "text": x.text.strip(),
            "language": x.language,
        }
        for x in kept
    ]
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def _clock(seconds: float) -> str:
    """``mm:ss``, or ``h:mm:ss`` past the first hour (the web client's clock)."""
    total = max(0, int(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
