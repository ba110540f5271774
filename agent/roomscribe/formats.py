"""Caption output formats: text, JSON lines, SRT, WebVTT.

JSON lines is the event log: every caption as it happened, revisions included
(``revision`` > 0 replaces the final with the same ``segment_id``). SRT,
WebVTT and text written to a file are the transcript of record: each segment's
latest final text (revised where the revision pass changed it), written when
the writer closes. Text on a terminal shows captions live.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from roomscribe.asr.events import Caption
from roomscribe.protocol import word_records

FORMATS = ("text", "jsonl", "srt", "vtt")


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
