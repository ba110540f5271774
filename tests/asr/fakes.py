"""A scripted fake recognizer: words are tone bursts, so tests can 'speak'.

``synth(["hello", "world."], ...)`` renders each word as a 0.3 s sine burst
whose pitch encodes the word; :class:`ToneRecognizer` finds the bursts in
whatever audio it is given and returns them as words with times, like a real
model would (a burst cut off at the end of the window is still heard if it is
long enough). :class:`EnergyVad` stands in for Silero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE, DecodeRequest, DecodeResult
from roomscribe.asr.events import Word
from roomscribe.asr.vad import VadState

VOCAB = [
    "hello",
    "there.",
    "how",
    "are",
    "you",
    "today?",
    "fine",
    "thanks.",
    "good",
    "morning.",
    "please",
    "press",
    "one",
    "two",
    "the",
    "key.",
    "[Music]",
]
WORD_S = 0.3
GAP_S = 0.12
_BASE_HZ = 300.0
_STEP_HZ = 40.0


def freq(word: str) -> float:
    return _BASE_HZ + _STEP_HZ * VOCAB.index(word)


def synth(words: Sequence[str], *, lead_s: float = 0.5, tail_s: float = 1.0) -> NDArray[np.float32]:
    """Audio of ``words`` spoken back to back; ``"|"`` inserts a 0.8 s pause."""
    parts = [np.zeros(int(lead_s * SAMPLE_RATE), dtype=np.float32)]
    t = np.arange(int(WORD_S * SAMPLE_RATE)) / SAMPLE_RATE
    gap = np.zeros(int(GAP_S * SAMPLE_RATE), dtype=np.float32)
    for w in words:
        if w == "|":
            parts.append(np.zeros(int(0.8 * SAMPLE_RATE), dtype=np.float32))
            continue
        parts.append((0.3 * np.sin(2 * np.pi * freq(w) * t)).astype(np.float32))
        parts.append(gap)
    parts.append(np.zeros(int(tail_s * SAMPLE_RATE), dtype=np.float32))
    return np.concatenate(parts)


def speaking(words: Sequence[str], *, lead_s: float = 0.5) -> NDArray[np.float32]:
    """Like :func:`synth`, but cut off right after the last word: mid-speech, no pause begun."""
    return synth(words, lead_s=lead_s, tail_s=0.0)[: -int(GAP_S * SAMPLE_RATE)]


def silence(seconds: float) -> NDArray[np.float32]:
    return np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32)


class EnergyVad:
    """Speech probability from frame energy (stands in for Silero)."""

    def __call__(self, frame: NDArray[np.float32], state: VadState) -> float:
        return 0.95 if float(np.sqrt(np.mean(frame**2))) > 0.01 else 0.02


@dataclass
class ToneRecognizer:
    """Backend that hears tone-burst words; records what it was asked."""

    min_word_s: float = 0.15
    requests: list[DecodeRequest] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    override: dict[int, DecodeResult] = field(default_factory=dict)
    """Replace the result of the n-th request (0-based) to script failures."""

    @property
    def multilingual(self) -> bool:
        return False

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        self.batches.append(len(requests))
        out = []
        for req in requests:
            n = len(self.requests)
            self.requests.append(req)
            out.append(self.override.get(n) or self._hear(req.audio))
        return out

    def _hear(self, audio: NDArray[np.float32]) -> DecodeResult:
        hop = SAMPLE_RATE // 100
        frames = len(audio) // hop
        voiced = [
            float(np.sqrt(np.mean(audio[i * hop : (i + 1) * hop] ** 2))) > 0.01
            for i in range(frames)
        ]
        words: list[Word] = []
        i = 0
        while i < frames:
            if not voiced[i]:
                i += 1
                continue
            j = i
            while j < frames and voiced[j]:
                j += 1
            if (j - i) / 100 >= self.min_word_s:
                seg = audio[i * hop : j * hop]
                spectrum = np.abs(np.fft.rfft(seg))
                hz = np.argmax(spectrum) * SAMPLE_RATE / len(seg)
                k = round((hz - _BASE_HZ) / _STEP_HZ)
                if 0 <= k < len(VOCAB):
                    words.append(Word(i / 100, j / 100, " " + VOCAB[k], 0.9))
            i = j
        return DecodeResult(tuple(words), "en", 1.0, 0.01, -0.2, 1.2)
