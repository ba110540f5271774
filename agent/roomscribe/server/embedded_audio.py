"""WebRTC audio frames to the engine's 16 kHz mono 16-bit PCM."""

from __future__ import annotations

from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE

_EMPTY = np.zeros(0, dtype=np.int16)


class MonoResampler:
    """Converts PyAV audio frames of any rate and layout to 16 kHz mono int16.

    aiortc's Opus decoder yields 48 kHz stereo frames, but a browser may switch
    codecs (PCMU at 8 kHz) or layouts mid-call; PyAV's resampler is fixed to the
    first frame's format, so a new one is made when the input format changes.
    """

    def __init__(self) -> None:
        self._resampler = self._new()

    @staticmethod
    def _new() -> Any:
        return av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)

    def convert(self, frame: Any) -> NDArray[np.int16]:
        """Resample one ``av.AudioFrame``; may return an empty array."""
        try:
            out = self._resampler.resample(frame)
        except ValueError:  # "Frame does not match AudioResampler setup"
            self._resampler = self._new()
            out = self._resampler.resample(frame)
        return _concat(out)

    def flush(self) -> NDArray[np.int16]:
        """Samples still held by the resampler's filter."""
        return _concat(self._resampler.resample(None))


def _concat(frames: list[Any]) -> NDArray[np.int16]:
    if not frames:
        return _EMPTY
    arrays = [np.asarray(f.to_ndarray(), dtype=np.int16).reshape(-1) for f in frames]
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
