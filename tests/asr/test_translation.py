"""Translation jobs (roomscribe.asr.translation) planned by the scheduler, with the
scripted fake backend: each final's audio translated once, never the interims,
never before live work, and only while a target is set."""

from __future__ import annotations

import pytest

from roomscribe.asr.backend import SAMPLE_RATE
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.events import Caption
from roomscribe.asr.jobs import JobKind
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import Scheduler
from tests.asr.fakes import EnergyVad, ToneRecognizer, silence, speaking, synth


def french(*, revisions: bool = False) -> StreamPolicy:
    opts = PolicyOptions(language="fr", revision=RevisionOptions(enabled=revisions))
    return StreamPolicy(EnergyVad(), opts, stream_id="s1")


def run_all(sched: Scheduler) -> list[tuple[JobKind, list[Caption]]]:
    """Run steps until the scheduler hands out nothing; what each step was and gave."""
    steps = []
    while batch := sched.next_batch():
        kinds = {a.job.kind for a in batch}
        assert len(kinds) == 1, f"translations never share a step: {kinds}"
        steps.append((kinds.pop(), [c for _, cs in sched.run(batch) for c in cs]))
    return steps


def test_each_final_is_translated_once_after_the_live_work() -> None:
    backend = ToneRecognizer()
    p = french()
    p.translations.set_target("en")
    sched = Scheduler(backend)
    sched.add(p)
    p.feed(synth(["hello", "there.", "|", "good", "morning."], tail_s=1.0))
    steps = run_all(sched)
    kinds = [k for k, _ in steps]
    assert kinds.count(JobKind.TRANSLATION) == 2
    # a final's translation comes after it, and never before pending live work
    finals = [c for k, cs in steps if k is not JobKind.TRANSLATION for c in cs if c.final]
    english = [c for k, cs in steps if k is JobKind.TRANSLATION for c in cs]
    assert [c.segment_id for c in english] == [c.segment_id for c in finals]
    for original, translated in zip(finals, english, strict=True):
        assert translated.translation
        assert translated.final
        assert translated.language == "en"
        assert translated.text.lower() == original.text.lower()  # the fake hears the tones
        assert abs(translated.start - original.start) < 0.1
        assert abs(translated.end - original.end) < 0.1
    requests = [r for r in backend.requests if r.translate]
    assert len(requests) == 2
    assert all(r.language == "fr" and not r.final and not r.prompt for r in requests)
    # the request is the final's segment: its audio, not the interims' or the whole stream's
    assert all(len(r.audio) / SAMPLE_RATE < 2.5 for r in requests)


def test_nothing_is_translated_without_a_target_or_in_the_target_language() -> None:
    backend = ToneRecognizer()
    p = french()
    english = StreamPolicy(EnergyVad(), PolicyOptions(language="en"), stream_id="s2")
    english.translations.set_target("en")
    sched = Scheduler(backend)
    sched.add(p)
    sched.add(english)
    p.feed(synth(["hello", "there."], tail_s=1.0))
    english.feed(synth(["good", "morning."], tail_s=1.0))
    steps = run_all(sched)
    assert JobKind.TRANSLATION not in [k for k, _ in steps]
    assert not any(r.translate for r in backend.requests)


def test_translation_waits_while_a_final_is_due_and_stops_when_nobody_asks() -> None:
    p = french()
    p.translations.set_target("en")
    sched = Scheduler(ToneRecognizer())
    sched.add(p)
    p.feed(synth(["hello", "there."], tail_s=1.0))
    run_all(sched)
    # a second sentence ends while the first one's translation would be due
    p.feed(synth(["good", "morning.", "|", "fine", "thanks."], tail_s=1.0))
    p.translations.set_target("en")
    batch = sched.next_batch()
    assert [a.job.kind for a in batch] == [JobKind.FINAL]
    sched.run(batch)
    p.translations.set_target(None)  # the last listener unticked: what waits is dropped
    steps = run_all(sched)
    assert JobKind.TRANSLATION not in [k for k, _ in steps]
    assert p.translations.finished


def test_a_translation_in_flight_when_nobody_asks_any_more_is_not_delivered() -> None:
    p = french()
    p.translations.set_target("en")
    sched = Scheduler(ToneRecognizer())
    sched.add(p)
    p.feed(synth(["hello", "there."], tail_s=1.0))
    while (batch := sched.next_batch()) and batch[0].job.kind is not JobKind.TRANSLATION:
        sched.run(batch)
    assert batch
    assert batch[0].job.kind is JobKind.TRANSLATION
    p.translations.set_target(None)
    assert sched.run(batch) == [(p, [])]


def test_an_english_only_model_refuses_to_translate() -> None:
    engine = Engine(ToneRecognizer(), EnergyVad(), EngineOptions())
    stream = engine.open_stream(lambda c: None)
    with pytest.raises(ValueError, match="English-only"):
        stream.set_translation("en")
    stream.set_translation(None)  # stopping is always fine
    stream.close()
    engine.close()


def test_only_english_is_a_target() -> None:
    with pytest.raises(ValueError, match="only into en"):
        french().translations.set_target("fr")


def test_talking_stream_early_in_its_utterance_lets_a_translation_through() -> None:
    p = french()
    p.translations.set_target("en")
    sched = Scheduler(ToneRecognizer())
    sched.add(p)
    p.feed(synth(["hello", "there."], tail_s=1.0))
    while (batch := sched.next_batch()) and batch[0].job.kind is JobKind.FINAL:
        sched.run(batch)
    assert batch
    assert batch[0].job.kind is JobKind.TRANSLATION
    sched.run(batch)
    # deep into a long utterance a final may come any moment: no translation then
    p.translations.add(Caption("s1-x", "bonjour", True, (), 0.0, 1.0, "fr"), 0.0, 1.0, silence(1.0))
    p.feed(speaking(["please", "press", "one", "two", "the", "key.", "please", "press"]))
    while batch := sched.next_batch():
        assert batch[0].job.kind is not JobKind.TRANSLATION or p.pending_s < 1.5
        sched.run(batch)
