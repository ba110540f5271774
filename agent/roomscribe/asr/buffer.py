"""A growable audio buffer addressed by absolute stream time."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE


class AudioBuffer:
    """Appends in amortized O(1) (no per-chunk ``np.append``); trims from the front."""

    def __init__(self, capacity_s: float = 30.0) -> None:
        self._data = np.zeros(int(capacity_s * SAMPLE_RATE), dtype=np.float32)
        self._head = 0
        """Index in ``_data`` of the first kept sample."""
        self._size = 0
        self._first = 0
        """Absolute sample index of ``_data[_head]``."""

    @property
    def start(self) -> float:
        return self._first / SAMPLE_RATE

    @property
    def end(self) -> float:
        return (self._first + self._size) / SAMPLE_RATE

    @property
    def duration(self) -> float:
        return self._size / SAMPLE_RATE

    def append(self, audio: NDArray[np.float32]) -> None:
        n = len(audio)
        if self._head + self._size + n > len(self._data):
            self._compact(n)
        at = self._head + self._size
        self._data[at : at + n] = audio
        self._size += n

    def slice(self, start: float, end: float) -> NDArray[np.float32]:
        """A copy of the audio between two absolute times (clamped to what is kept)."""
        a = max(0, round(start * SAMPLE_RATE) - self._first)
        b = min(self._size, round(end * SAMPLE_RATE) - self._first)
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        return self._data[self._head + a : self._head + b].copy()

    def trim_before(self, time: float) -> None:
        """Forget audio before ``time``."""
        drop = min(self._size, max(0, round(time * SAMPLE_RATE) - self._first))
        self._head += drop
        self._size -= drop
        self._first += drop

    def _compact(self, incoming: int) -> None:
        needed = self._size + incoming
        if needed > len(self._data) // 2:
            new = np.zeros(max(needed * 2, len(self._data)), dtype=np.float32)
            new[: self._size] = self._data[self._head : self._head + self._size]
            self._data = new
        else:
            self._data[: self._size] = self._data[self._head : self._head + self._size]
        self._head = 0
