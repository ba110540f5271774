"""The contract between the streaming policy and a speech recognizer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.events import Word

SAMPLE_RATE = 16_000
"""Every stream and backend in the core works on 16 kHz mono float32 audio."""


@dataclass(frozen=True, slots=True)
class DecodeRequest:
    """Recognize ``audio`` (16 kHz mono float32 in [-1, 1])."""

    audio: NDArray[np.float32]
    prompt: str = ""
    """Previously committed text of the same stream, as decoding context."""
    language: str | None = None
    """Language code, or ``None`` to detect it from this audio."""
    final: bool = False
    """A final decode may spend more compute (wider beam) than an interim one."""
    context_s: float = 0.0
    """The first seconds of ``audio`` were transcribed before: they are there
    for context, and only the words after them matter."""
    context_text: str = ""
    """What was transcribed in those first ``context_s`` seconds (the text
    after ``prompt``), for a decode that has to do without their audio."""
    vocabulary: tuple[str, ...] = ()
    """Terms likely to be spoken (names, product words, acronyms) that the
    recognizer should prefer over similar-sounding words."""
    long_form: bool = False
    """Several sentences with pauses (the revision pass): read the way offline
    Whisper reads a window of a recording, not the way a single live sentence is."""
    translate: bool = False
    """Say the speech in English (Whisper's ``translate`` task, multilingual
    models only) instead of transcribing it in ``language``."""
    sharing: int = 1
    """Streams sharing the model when this decode was planned (talking or
    waiting for a final): a final decode spends what it would in a batch of
    that many, though finals of speakers who do not pause together come one
    at a time."""


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """Words with times relative to the start of the request's audio."""

    words: tuple[Word, ...]
    language: str
    language_probability: float
    no_speech_prob: float
    avg_logprob: float
    compression_ratio: float

    @property
    def text(self) -> str:
        return "".join(w.text for w in self.words).strip()


class Backend(Protocol):
    """A speech recognizer that decodes a batch of independent requests."""

    @property
    def multilingual(self) -> bool: ...

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        """Decode each request; results are in request order."""
        ...
