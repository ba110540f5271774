"""WebRTC frames of any rate and layout become 16 kHz mono int16."""

from __future__ import annotations

import av
import numpy as np

from roomscribe.server.embedded_audio import MonoResampler


def frame(samples: np.ndarray, rate: int, layout: str) -> av.AudioFrame:
    f = av.AudioFrame.from_ndarray(samples, format="s16", layout=layout)
    f.sample_rate = rate
    return f


def tone(rate: int, seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 10_000).astype(np.int16)


def test_opus_style_48k_stereo_frames() -> None:
    resampler = MonoResampler()
    mono = tone(48_000, 1.0)
    stereo = np.stack([mono, mono], axis=1).reshape(1, -1)  # packed s16: interleaved
    out = [resampler.convert(frame(stereo[:, i : i + 1920], 48_000, "stereo"))
           for i in range(0, stereo.shape[1], 1920)]  # fmt: skip
    pcm = np.concatenate([*out, resampler.flush()])
    assert pcm.dtype == np.int16
    assert abs(len(pcm) - 16_000) <= 32
    spectrum = np.abs(np.fft.rfft(pcm[1000:15000].astype(np.float64)))
    peak_hz = np.argmax(spectrum) * 16_000 / len(pcm[1000:15000])
    assert abs(peak_hz - 440) < 5
    assert 6_000 < np.abs(pcm).max() < 11_000


def test_format_change_mid_stream() -> None:
    resampler = MonoResampler()
    a = resampler.convert(frame(tone(48_000, 0.02).reshape(1, -1), 48_000, "mono"))
    b = resampler.convert(frame(tone(8_000, 0.1).reshape(1, -1), 8_000, "mono"))  # PCMU
    assert a.dtype == b.dtype == np.int16
    assert len(a) + len(b) + len(resampler.flush()) > 1500
