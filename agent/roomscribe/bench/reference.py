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

    def pause_after(self, seconds: float) -> float:
        """The middle of the first pause between utterances at or after ``seconds``
        (0.0 if there is none): where the recording can be turned round."""
        gaps = zip(self.utterances, self.utterances[1:], strict=False)
        return next(
            ((a.end + b.start) / 2 for a, b in gaps if (a.end + b.start) / 2 >= seconds), 0.0
        )

    def rotate(self, at: float, duration: float) -> Reference:
        """The reference of the recording played from ``at`` to its end, then from its
        start to ``at`` (``at`` between utterances, see :meth:`pause_after`)."""

        def moved(u: Utterance, by: float) -> Utterance:
            return Utterance(u.start + by, u.end + by, u.text)

        later = [moved(u, -at) for u in self.utterances if u.start >= at]
        earlier = [moved(u, duration - at) for u in self.utterances if u.start < at]
        utts = tuple(later + earlier)
        return Reference(" ".join(u.text for u in utts), utts, self.language, self.vocabulary)


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
