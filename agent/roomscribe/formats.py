"""Caption output formats: text, JSON lines, SRT, WebVTT."""

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
        "words": word_records(caption.words),
    }


class CaptionWriter:
    """Writes caption events as they happen in one of :data:`FORMATS`."""

    def __init__(self, fmt: str, out: TextIO) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
        self._fmt = fmt
        self._out = out
        self._cue = 0
        self._interim_shown = False
        self._live = fmt == "text" and out.isatty()
        if fmt == "vtt":
            out.write("WEBVTT\n\n")

    def write(self, caption: Caption, emitted_at: float) -> None:
        if self._fmt == "jsonl":
            self._out.write(json.dumps(caption_record(caption, emitted_at)) + "\n")
        elif self._fmt == "text":
            self._text(caption)
        elif caption.final and caption.text:
            self._cue += 1
            sep = "," if self._fmt == "srt" else "."
            head = f"{self._cue}\n" if self._fmt == "srt" else ""
            span = f"{timestamp(caption.start, sep)} --> {timestamp(caption.end, sep)}"
            self._out.write(f"{head}{span}\n{caption.text}\n\n")
        self._out.flush()

    def _text(self, caption: Caption) -> None:
        if self._live:
            self._out.write("\r\033[K")
            if not caption.final:
                self._out.write(f"… {caption.text}")
                return
        if caption.final and caption.text:
            self._out.write(f"[{timestamp(caption.start, '.')[3:-1]}] {caption.text}\n")

    def close(self) -> None:
        if self._live:
            self._out.write("\r\033[K")
        self._out.flush()
