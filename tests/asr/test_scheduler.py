from __future__ import annotations

import logging

import pytest

from roomscribe.asr.backend import SAMPLE_RATE
from roomscribe.asr.events import Caption
from roomscribe.asr.jobs import JobKind
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.prompts import LEFT_CONTEXT_S
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import Scheduler, SchedulerOptions
from tests.asr.fakes import EnergyVad, ToneRecognizer, silence, speaking, synth


def policy() -> StreamPolicy:
    return StreamPolicy(EnergyVad(), PolicyOptions(language="en"))


def test_finals_go_before_interims() -> None:
    talking, paused = policy(), policy()
    talking.feed(speaking(["please", "press", "one", "two"]))
    paused.feed(synth(["hello", "there."], tail_s=1.0))
    sched = Scheduler(ToneRecognizer(), SchedulerOptions(max_batch=4))
    sched.add(talking)
    sched.add(paused)
    batch = sched.next_batch()
    assert [(a.policy, a.job.kind) for a in batch] == [(paused, JobKind.FINAL)]


def test_round_robin_serves_every_stream() -> None:
    streams = [policy() for _ in range(3)]
    for p in streams:
        p.feed(speaking(["please", "press", "one", "two", "the"]))
    sched = Scheduler(ToneRecognizer(), SchedulerOptions(max_batch=1))
    for p in streams:
        sched.add(p)
    served = []
    for _ in range(3):
        batch = sched.next_batch()
        served.append(batch[0].policy)
        sched.run(batch)
        for p in streams:  # new audio arrives, everyone wants a refresh again
            p.feed(speaking(["one", "two"], lead_s=0.0))
    assert set(map(id, served)) == set(map(id, streams))


def test_interims_are_skipped_not_queued() -> None:
    p = policy()
    p.feed(speaking(["please", "press", "one", "two"]))
    sched = Scheduler(ToneRecognizer())
    sched.add(p)
    first = sched.next_batch()
    assert len(first) == 1
    for _ in range(10):  # lots of audio arrives while the decode runs
        p.feed(speaking(["one", "two"], lead_s=0.0))
        assert sched.next_batch() == []
    sched.run(first)
    nxt = sched.next_batch()
    assert len(nxt) == 1
    assert nxt[0].job.end == p.audio_end  # the refresh covers the latest audio


def test_batches_finals_of_several_streams() -> None:
    streams = [policy() for _ in range(3)]
    for p in streams:
        p.feed(synth(["hello", "there."], tail_s=1.0))
    backend = ToneRecognizer()
    sched = Scheduler(backend, SchedulerOptions(max_batch=4))
    for p in streams:
        sched.add(p)
    out = sched.run(sched.next_batch())
    assert backend.batches == [3]
    assert [c.text for _, caps in out for c in caps] == ["hello there."] * 3


def test_a_final_knows_how_many_streams_share_the_model() -> None:
    """Speakers who do not pause together send their finals one at a time; each
    still says how many streams share the model, so its padding shrinks as in a
    batch (see ``whisper.FINAL_WINDOW_BUDGET_S``)."""
    paused = policy()
    paused.feed(synth(["hello", "there."], tail_s=1.0))
    talkers = [policy() for _ in range(3)]
    for p in talkers:
        p.feed(speaking(["please", "press", "one", "two"]))
    sched = Scheduler(ToneRecognizer())
    sched.add(paused)
    [alone] = sched.next_batch()
    assert alone.job.request.sharing == 1
    sched.run([alone])
    paused.feed(synth(["hello", "there."], tail_s=1.0))
    for p in talkers:
        sched.add(p)
    [final] = sched.next_batch()
    assert final.job.kind is JobKind.FINAL
    assert final.job.request.sharing == 4


def test_interims_wait_out_a_beginning_pause_only_under_light_load() -> None:
    def pausing() -> StreamPolicy:
        p = policy()
        p.feed(speaking(["please", "press", "one", "two"]))
        p.feed(silence(0.1))  # a pause begins; the VAD has not ended the utterance
        return p

    alone = Scheduler(ToneRecognizer())
    alone.add(pausing())
    assert alone.next_batch() == []  # its final decode may be due in a moment

    crowd = Scheduler(ToneRecognizer())
    for _ in range(3):
        crowd.add(pausing())
    assert [a.job.kind for a in crowd.next_batch()] == [JobKind.INTERIM] * 3


def test_audio_cap_bounds_memory_when_the_model_is_slower_than_real_time() -> None:
    cap = 6.0
    opts = PolicyOptions(
        language="en",
        max_segment_s=3,
        hard_max_segment_s=4,
        max_pending_s=cap,
        revision=RevisionOptions(enabled=False),  # its own bound: tests/asr/test_revision.py
    )
    p = StreamPolicy(EnergyVad(), opts)
    sched = Scheduler(ToneRecognizer(), SchedulerOptions(max_batch=1))
    sched.add(p)
    audio = synth(["hello", "there.", "|", "how", "are", "you", "today?", "|"] * 30)
    step = 3 * SAMPLE_RATE  # one decode per 3 s of audio: the model cannot keep up
    finals: list[Caption] = []
    for i in range(0, len(audio), step):
        p.feed(audio[i : i + step])
        for _, captions in sched.run(sched.next_batch()):
            finals += [c for c in captions if c.final]
        assert p.pending_s <= cap
        assert p.kept_s <= cap + LEFT_CONTEXT_S + step / SAMPLE_RATE
    p.close()
    while not p.done:
        for _, captions in sched.run(sched.next_batch()):
            finals += [c for c in captions if c.final]
    assert p.capped_segments > 0
    assert sched.capped_segments == p.capped_segments
    # finals kept coming, up to the end of the audio
    assert finals[-1].end > len(audio) / SAMPLE_RATE - 5
    assert [c.text.lower() for c in finals[-2:]] == ["hello there.", "how are you today?"]


def test_a_result_for_a_stream_dropped_during_its_decode_is_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The engine drops a stream whose close ran past its bound, decode or not."""
    p = policy()
    p.feed(synth(["hello", "there."], tail_s=1.0))
    sched = Scheduler(ToneRecognizer())
    sched.add(p)
    batch = sched.next_batch()
    assert [a.job.kind for a in batch] == [JobKind.FINAL]
    p.give_up()  # what Engine._abort_stream does
    sched.remove(p)
    with caplog.at_level(logging.WARNING):
        assert sched.run(batch) == [(p, [])]
    assert not caplog.records
    assert sched.failed_jobs == 0
