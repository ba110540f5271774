"""Decode any audio/video file PyAV (FFmpeg) can read to 16 kHz mono float32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE


class AudioDecodeError(RuntimeError):
    """The file could not be read as audio."""


def decode_file(path: str | Path) -> NDArray[np.float32]:
    """The file's first audio stream, resampled to 16 kHz mono float32."""
    import av

    chunks: list[NDArray[np.float32]] = []
    try:
        # raw G.722 (Asterisk sound packs) has no container to sniff
        fmt = "g722" if str(path).endswith(".g722") else None
        with av.open(str(path), format=fmt) as container:
            if not container.streams.audio:
                raise AudioDecodeError(f"{path}: no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    chunks.append(_to_float(out))
            for out in resampler.resample(None):
                chunks.append(_to_float(out))
    except AudioDecodeError:
        raise
    except (OSError, ValueError) as exc:  # av.error.* derive from these
        raise AudioDecodeError(f"{path}: cannot decode audio ({exc})") from exc
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate(chunks)


def _to_float(frame: object) -> NDArray[np.float32]:
    pcm = frame.to_ndarray()  # type: ignore[attr-defined]
    return (np.asarray(pcm, dtype=np.int16).reshape(-1).astype(np.float32)) / 32768.0
