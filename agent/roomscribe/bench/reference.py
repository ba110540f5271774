"""Reference transcripts beside evaluation audio (``NAME.json`` / ``NAME.txt``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Utterance:
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Reference:
    text: str
    utterances: tuple[Utterance, ...]
    """Empty when only ``NAME.txt`` exists (no latency metrics then)."""
    language: str = "en"
    vocabulary: tuple[str, ...] = ()
    """Terms the recording is meant to test (``"vocabulary"`` in ``NAME.json``)."""

    def fit(self, seconds: float) -> float:
        """Where to cut the audio so no utterance is split: at most ``seconds``."""
        return min((u.start for u in self.utterances if u.end > seconds), default=seconds)

    def cut(self, seconds: float) -> Reference:
        """Only the utterances that end before ``seconds``."""
        kept = tuple(u for u in self.utterances if u.end <= seconds)
        return Reference(" ".join(u.text for u in kept), kept, self.language, self.vocabulary)


def load_reference(audio: Path) -> Reference | None:
    """The reference for ``audio``, or ``None`` when there is none."""
    js, txt = audio.with_suffix(".json"), audio.with_suffix(".txt")
    if js.is_file():
        data = json.loads(js.read_text(encoding="utf-8"))
        utts = tuple(
            Utterance(float(u["start"]), float(u["end"]), str(u["text"]))
            for u in data.get("utterances", [])
        )
        return Reference(
            " ".join(u.text for u in utts),
            utts,
            str(data.get("language", "en")),
            tuple(str(t) for t in data.get("vocabulary", [])),
        )
    if txt.is_file():
        return Reference(txt.read_text(encoding="utf-8").strip(), ())
    return None
