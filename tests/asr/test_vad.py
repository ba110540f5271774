"""The streaming VAD's events and the pause points it remembers (fake speech model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from roomscribe.asr import vad as vad_module
from roomscribe.asr.vad import (
    FRAME_SECONDS,
    SileroModel,
    StreamingVad,
    VadOptions,
    bundled_model_path,
)
from tests.asr.fakes import EnergyVad, silence, synth


def test_speech_start_and_end_events() -> None:
    vad = StreamingVad(EnergyVad(), VadOptions())
    events = vad.feed(synth(["hello", "there.", "|", "good", "morning."]))
    assert [e.speaking for e in events] == [True, False, True, False]
    start, end = events[0].time, events[1].time
    assert 0.3 < start < 0.5  # onset at 0.5 s, padded
    assert 1.2 < end < 1.4  # two 0.3 s words and their 0.12 s gaps


def test_quietest_finds_the_gap_between_words() -> None:
    vad = StreamingVad(EnergyVad(), VadOptions())
    audio = synth(["hello", "there."], lead_s=0.5)
    vad.feed(audio)
    # "hello" is 0.5-0.8 s, then 0.12 s of silence, "there." from 0.92 s
    quiet = vad.quietest(0.6, 1.0)
    assert quiet is not None
    time, probability = quiet
    assert 0.8 - FRAME_SECONDS < time < 0.92 + FRAME_SECONDS
    assert probability < 0.1
    loud = vad.quietest(0.55, 0.75)
    assert loud is not None
    assert loud[1] > 0.9


def test_quietest_forgets_old_frames() -> None:
    vad = StreamingVad(EnergyVad(), VadOptions())
    vad.feed(silence(40.0))
    assert vad.quietest(0.0, 1.0) is None
    assert vad.quietest(39.0, 39.5) is not None
    assert vad.quietest(41.0, 42.0) is None  # not heard yet


def test_frames_split_across_feeds_are_kept() -> None:
    vad = StreamingVad(EnergyVad(), VadOptions())
    audio = synth(["hello"])
    chunks = np.array_split(audio, 37)
    events = [e for c in chunks for e in vad.feed(c)]
    assert [e.speaking for e in events] == [True, False]


def test_bundled_silero_file_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    path = bundled_model_path()
    assert path.parent.name == "assets"
    assert "livekit" not in str(path)
    monkeypatch.setattr(vad_module, "SILERO_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="corrupt or was replaced"):
        bundled_model_path()


def test_bundled_silero_hears_speech(eval_dir: Path) -> None:
    """The bundled file is the real model: speech in, speech out."""
    from tests.conftest import read_wav

    audio = read_wav(eval_dir / "allison-a.wav")[: 16_000 * 4]
    events = StreamingVad(SileroModel(), VadOptions()).feed(audio)
    assert any(e.speaking for e in events)
