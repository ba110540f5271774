"""The speech gate: padded utterance ends and cut points between words (fake speech model)."""

from __future__ import annotations

import pytest

from roomscribe.asr.gate import TAIL_PAD_S, SpeechGate
from roomscribe.asr.vad import StreamingVad, VadOptions
from tests.asr.fakes import EnergyVad, silence, speaking, synth


def test_an_utterance_ends_a_tail_pad_after_the_vad_heard_it_end() -> None:
    audio = synth(["hello", "there.", "|", "good", "morning."])
    heard = StreamingVad(EnergyVad(), VadOptions()).feed(audio)
    gated = SpeechGate(EnergyVad(), VadOptions()).feed(audio)
    assert [e.speaking for e in gated] == [e.speaking for e in heard]
    for vad, gate in zip(heard, gated, strict=True):
        assert gate.time == vad.time + (0.0 if vad.speaking else TAIL_PAD_S)


def test_a_cut_goes_where_the_vad_heard_a_dip_between_words() -> None:
    gate = SpeechGate(EnergyVad(), VadOptions())
    gate.feed(synth(["hello", "there."], lead_s=0.5))
    # "hello" is 0.5-0.8 s, 0.12 s of silence, then "there."
    cut = gate.quiet_between(0.7, 1.0, gate.pause_below)
    assert cut is not None
    assert 0.78 < cut < 0.94
    assert gate.quiet_between(0.55, 0.75, gate.pause_below) is None  # inside "hello"


def test_pausing_while_a_pause_may_be_starting() -> None:
    gate = SpeechGate(EnergyVad(), VadOptions())
    gate.feed(speaking(["hello", "there."]))
    assert not gate.pausing
    gate.feed(silence(0.08))  # shorter than min_silence_s: still speaking
    assert gate.pausing


def test_a_speech_start_is_never_reported_before_onset_from() -> None:
    gate = SpeechGate(EnergyVad(), VadOptions())
    gate.feed(silence(2.0))
    floor = gate.onset_from
    [start] = [e for e in gate.feed(synth(["hello"], lead_s=0.0)) if e.speaking]
    assert start.time >= floor
    assert floor == pytest.approx(2.0 - 0.35, abs=0.04)
