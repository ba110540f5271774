import numpy as np

from roomscribe.asr.buffer import AudioBuffer


def test_slices_by_absolute_time_after_trimming() -> None:
    buf = AudioBuffer(capacity_s=1.0)
    ramp = np.arange(16000 * 5, dtype=np.float32)
    for i in range(0, len(ramp), 320):
        buf.append(ramp[i : i + 320])
    assert buf.end == 5.0
    buf.trim_before(3.0)
    assert buf.start == 3.0
    assert buf.duration == 2.0
    piece = buf.slice(3.5, 3.5 + 1 / 16000)
    assert piece.tolist() == [3.5 * 16000]
    assert len(buf.slice(0.0, 10.0)) == 2 * 16000  # clamped to what is kept


def test_memory_stays_bounded_when_trimmed() -> None:
    buf = AudioBuffer(capacity_s=2.0)
    chunk = np.ones(320, dtype=np.float32)
    for _ in range(50 * 600):  # ten minutes
        buf.append(chunk)
        buf.trim_before(buf.end - 1.0)
    assert buf.duration <= 1.0
    assert buf._data.size <= 16000 * 4
