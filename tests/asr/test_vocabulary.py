"""Room vocabulary in the core: every decode of a stream carries the stream's terms."""

from __future__ import annotations

import argparse

import pytest

from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import Scheduler
from roomscribe.commands.transcribe import vocabulary_argument
from tests.asr.fakes import EnergyVad, ToneRecognizer, silence, synth


def test_decodes_carry_the_vocabulary_and_a_change_applies_to_later_ones() -> None:
    backend = ToneRecognizer()
    opts = PolicyOptions(
        language="en", vocabulary=("Asterisk",), revision=RevisionOptions(idle_s=0.5)
    )
    policy = StreamPolicy(EnergyVad(), opts)
    sched = Scheduler(backend)
    sched.add(policy)
    policy.feed(synth(["hello", "there."]))
    while policy.finalizing or policy.speaking:
        sched.run(sched.next_batch())
    assert backend.requests
    assert {r.vocabulary for r in backend.requests} == {("Asterisk",)}
    seen = len(backend.requests)
    policy.set_vocabulary(("Digium", "VoIP"))
    policy.feed(silence(1.0))
    policy.feed(synth(["good", "morning."]))
    policy.close()
    while not policy.done:
        sched.run(sched.next_batch())
    later = backend.requests[seen:]
    assert later  # live decodes and the revision of the final speech
    assert {r.vocabulary for r in later} == {("Digium", "VoIP")}


def test_the_command_line_takes_validated_terms() -> None:
    assert vocabulary_argument("Asterisk, VoIP ,O'Brien") == ("Asterisk", "VoIP", "O'Brien")
    with pytest.raises(argparse.ArgumentTypeError, match="may only contain"):
        vocabulary_argument("drop;table")
