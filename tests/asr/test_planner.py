"""Which decode a stream wants next, and what it hears (fake speech model, no decodes)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.buffer import AudioBuffer
from roomscribe.asr.events import Word
from roomscribe.asr.gate import SpeechGate
from roomscribe.asr.jobs import JobKind
from roomscribe.asr.language_vote import LanguageVote, LanguageVoteOptions
from roomscribe.asr.planner import JobPlanner
from roomscribe.asr.prompts import Context
from roomscribe.asr.segmenter import Segmenter
from roomscribe.asr.vad import VadOptions
from tests.asr.fakes import EnergyVad, silence, speaking, synth


class Stream:
    """A planner over the parts a policy gives it, fed audio like a policy feeds them."""

    def __init__(self, interim_interval_s: float = 0.5) -> None:
        self.buffer = AudioBuffer()
        self.gate = SpeechGate(EnergyVad(), VadOptions())
        self.segments = Segmenter(
            self.gate,
            LanguageVote(LanguageVoteOptions(), "en"),
            max_segment_s=6.0,
            hard_max_segment_s=12.0,
            max_pending_s=30.0,
        )
        self.context = Context()
        self.planner = JobPlanner(
            self.buffer,
            self.gate,
            self.segments,
            self.context,
            LanguageVote(LanguageVoteOptions(), "en"),
            interim_interval_s=interim_interval_s,
            vocabulary=("Asterisk",),
        )

    def feed(self, audio: NDArray[np.float32]) -> None:
        self.buffer.append(audio)
        self.segments.feed(self.gate.feed(audio), self.buffer.start, self.buffer.end)


def test_no_interim_refresh_while_a_pause_may_be_starting() -> None:
    # a refresh started in the first silent frames would hold up the final
    # decode that the pause is about to ask for, and show nothing new
    s = Stream()
    s.feed(speaking(["please", "press", "one", "two"]))
    s.feed(silence(0.08))  # shorter than the VAD's min_silence_s: still speaking
    assert s.segments.open is not None
    assert s.planner.interim(1.0, hold_at_pause=True) is None
    assert s.planner.interim(1.0, hold_at_pause=False) is not None


def test_an_interim_refresh_waits_for_the_interval_of_new_audio() -> None:
    s = Stream(interim_interval_s=0.5)
    s.feed(speaking(["please", "press", "one", "two"]))
    job = s.planner.interim(1.0, hold_at_pause=True)
    assert job is not None
    assert job.kind is JobKind.INTERIM
    assert job.end == s.buffer.end
    assert job.request.vocabulary == ("Asterisk",)
    s.planner.in_flight = None  # its result applied
    s.feed(speaking(["the"], lead_s=0.0))  # 0.3 s more
    assert s.planner.interim(1.0, hold_at_pause=False) is None
    s.feed(speaking(["key."], lead_s=0.12))  # 0.72 s since the refresh
    assert s.planner.interim(2.0, hold_at_pause=False) is None  # slowed down: 1 s
    assert s.planner.interim(1.0, hold_at_pause=False) is not None


def test_one_job_in_flight_and_finals_first() -> None:
    s = Stream()
    s.feed(synth(["hello", "there."], tail_s=0.5))
    s.feed(speaking(["good", "morning."]))
    assert s.segments.finals
    assert s.segments.open is not None
    assert s.planner.interim(1.0, hold_at_pause=False) is None  # a final waits
    final = s.planner.final(context=True, sharing=1)
    assert final is not None
    assert final.kind is JobKind.FINAL
    assert final.request.final
    assert s.planner.final(context=True, sharing=1) is None  # one in flight


def test_a_final_hears_the_final_words_before_it_unless_told_not_to() -> None:
    s = Stream()
    s.context.extend(
        [Word(0.5, 0.8, " hello", 0.9), Word(0.92, 1.22, " there.", 0.9)]
    )  # what the first segment's final said
    s.feed(synth(["hello", "there.", "|", "good", "morning."]))
    s.segments.finals.pop_oldest()  # "hello there." was finalized
    seg = s.segments.finals.oldest
    assert seg is not None
    plain = s.planner.final(context=False, sharing=4)
    assert plain is not None
    assert plain.request.context_s == 0.0
    assert plain.request.prompt == "hello there."
    assert plain.request.sharing == 4
    s.planner.in_flight = None
    heard = s.planner.final(context=True, sharing=1)
    assert heard is not None
    assert heard.request.context_s > 0.8
    assert heard.request.context_text == "hello there."
    assert heard.request.prompt == ""
    assert heard.segment_start == seg.start
