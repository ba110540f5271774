"""The streaming policy, driven by a scripted tone-burst recognizer (milliseconds per test)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE, DecodeRequest, DecodeResult
from roomscribe.asr.events import Word
from roomscribe.asr.guards import collapse_repeats
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.prompts import LEFT_CONTEXT_S, MAX_CONTEXT_SEGMENT_S
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import Scheduler
from roomscribe.replay import Emitted, Pace, replay
from tests.asr.fakes import EnergyVad, ToneRecognizer, silence, synth


def run(
    audio: NDArray[np.float32],
    options: PolicyOptions | None = None,
    backend: ToneRecognizer | None = None,
) -> tuple[list[Emitted], ToneRecognizer, StreamPolicy]:
    backend = backend or ToneRecognizer()
    policy = StreamPolicy(EnergyVad(), live_only(options or PolicyOptions(language="en")))
    events: list[Emitted] = []
    replay(Scheduler(backend), [policy], [audio], pace=Pace.SIMULATED, on_caption=events.append)
    return events, backend, policy


def live_only(options: PolicyOptions) -> PolicyOptions:
    """The live path alone: its decodes and memory, without the revision pass."""
    return replace(options, revision=RevisionOptions(enabled=False))


def finals(events: list[Emitted]) -> list[str]:
    """Live final texts in lower case (the policy capitalizes a sentence's first word)."""
    return [e.caption.text.lower() for e in events if e.caption.final and not e.caption.revision]


def assert_finals_never_change(events: list[Emitted]) -> None:
    final_ids: set[str] = set()
    for e in events:
        if e.caption.revision:
            continue  # the revision pass may replace a final (tests/asr/test_revision.py)
        assert e.caption.segment_id not in final_ids, f"update after final: {e.caption}"
        if e.caption.final:
            final_ids.add(e.caption.segment_id)


def test_pause_finalizes_each_utterance() -> None:
    audio = synth(["hello", "there.", "|", "how", "are", "you", "today?"])
    events, _, _ = run(audio)
    assert finals(events) == ["hello there.", "how are you today?"]
    assert_finals_never_change(events)
    first = next(e for e in events if e.caption.final)
    # final soon after the speaker stops: VAD pause + a decode, not the next sentence
    assert first.emitted_at - first.caption.end < 0.6
    assert first.emitted_at < 1.5 + 0.8  # before the second utterance even starts speaking


def test_interim_captions_come_first_and_grow() -> None:
    audio = synth(["please", "press", "one", "two", "the", "key."])
    events, _, _ = run(audio)
    interims = [e.caption.text for e in events if not e.caption.final]
    assert interims, "no interim captions while speaking"
    assert interims[0] != "please press one two the key."
    assert finals(events) == ["please press one two the key."]
    assert events[-1].caption.final


def test_no_decode_on_silence() -> None:
    events, backend, policy = run(silence(60.0))
    assert events == []
    assert backend.requests == []
    assert policy.done


def test_sentence_becomes_final_without_a_pause() -> None:
    words = ["please", "press", "the", "key.", "how", "are", "you", "today?", "fine", "thanks."]
    audio = synth(words)  # 0.12 s between words: shorter than the VAD's pause
    events, _, _ = run(audio)
    # "fine thanks." is too short a sentence to split off; it ends with the audio
    assert finals(events) == ["please press the key.", "how are you today?", "fine thanks."]
    assert_finals_never_change(events)
    first_final = next(e for e in events if e.caption.final)
    speech_end = 0.5 + len(words) * 0.42
    assert first_final.emitted_at < speech_end - 0.8, "first sentence waited for the last"


def test_tail_is_finalized_on_close() -> None:
    audio = synth(["good", "morning."], tail_s=0.0)
    events, _, policy = run(audio)
    assert finals(events) == ["good morning."]
    assert policy.done


def test_audio_buffer_and_decode_window_stay_bounded() -> None:
    sentence = ["please", "press", "one", "two", "the", "key.", "|"]
    audio = synth(sentence * 80)  # ~6 minutes
    events, backend, policy = run(audio)
    assert finals(events).count("please press one two the key.") == 80
    longest = max(len(r.audio) for r in backend.requests) / 16000
    assert longest < 4.0 + LEFT_CONTEXT_S
    assert policy._buffer.duration < 3.0 + LEFT_CONTEXT_S


def unpunctuated_speech(n: int) -> list[str]:
    """``n`` words without sentence ends and without back-to-back repeats."""
    rng = random.Random(7)
    pool = ["please", "press", "one", "two", "the", "hello", "how", "are", "you", "fine"]
    words: list[str] = []
    while len(words) < n:
        w = rng.choice(pool)
        candidate = [*words, w]
        if len(collapse_repeats(to_words(candidate), 2)) == len(candidate):
            words = candidate
    return words


def to_words(texts: list[str]) -> list[Word]:
    return [Word(i, i + 0.3, " " + t, 0.9) for i, t in enumerate(texts)]


def test_endless_speech_without_sentence_ends_is_cut() -> None:
    audio = synth(unpunctuated_speech(80), tail_s=0.5)  # 34 s, no sentence end, no pause
    opts = PolicyOptions(language="en", max_segment_s=8.0, hard_max_segment_s=12.0)
    events, backend, _ = run(audio, opts)
    assert max(len(r.audio) for r in backend.requests) / 16000 <= 12.5
    text = " ".join(finals(events)).split()
    assert 70 <= len(text) <= 80
    assert_finals_never_change(events)


def test_music_markers_give_no_captions() -> None:
    events, backend, _ = run(synth(["[Music]"] * 10))
    assert backend.requests, "the VAD let it through, so the guards must stop it"
    assert events == []


def test_prompt_carries_finalized_text() -> None:
    # a pause longer than the left context: the earlier words come as prompt only
    audio = synth(["hello", "there.", "|", "|", "|", "|", "good", "morning."])
    _, backend, _ = run(audio)
    last_final = [r for r in backend.requests if r.final][-1]
    assert last_final.prompt == "hello there."
    assert last_final.context_s == 0.0
    assert all(r.language == "en" for r in backend.requests)


def test_final_decode_hears_the_previous_words_again() -> None:
    audio = synth(["hello", "there.", "|", "good", "morning."])
    events, backend, _ = run(audio)
    last_final = [r for r in backend.requests if r.final][-1]
    # "hello there." is in the audio as context, so it is not in the prompt as well
    assert last_final.context_s > 0.8
    assert len(last_final.audio) / 16000 > last_final.context_s + 0.6
    assert last_final.prompt == ""
    assert last_final.context_text == "hello there."
    assert finals(events) == ["hello there.", "good morning."]


def test_long_segment_is_decoded_without_context() -> None:
    # it carries its own context; hearing the one before again would only delay it
    long = ["please", "press", "one", "two", "the", "hello", "how", "are", "you", "fine"]
    long += ["good", "today?"]
    audio = synth(["hello", "there.", "|", *long])
    assert len(long) * 0.42 > MAX_CONTEXT_SEGMENT_S
    events, backend, _ = run(audio)
    last_final = [r for r in backend.requests if r.final][-1]
    assert last_final.context_s == 0.0
    assert last_final.prompt == "hello there."
    assert finals(events) == ["hello there.", " ".join(long)]


class MishearsContext(ToneRecognizer):
    """Hears the context audio as different words than the first decode did."""

    def decode(self, requests):  # type: ignore[no-untyped-def]
        results = super().decode(requests)
        out = []
        for req, res in zip(requests, results, strict=True):
            words = [replace(w, text=" fine") if w.end <= req.context_s else w for w in res.words]
            out.append(replace(res, words=tuple(words)))
        return out


def test_context_words_heard_differently_are_not_captioned_twice() -> None:
    audio = synth(["hello", "there.", "|", "good", "morning."])
    events, _, _ = run(audio, backend=MishearsContext())
    assert finals(events) == ["hello there.", "good morning."]


def test_short_sentence_is_split_off_after_a_short_gap() -> None:
    words = ["hello", "there.", "please", "press", "the", "key.", "|"]
    audio = synth(words)  # 0.12 s between words: enough for "hello there."
    # (less is not: tests/asr/test_sentences.py)
    events, _, _ = run(audio)
    assert finals(events) == ["hello there.", "please press the key."]


def test_final_starting_a_sentence_is_capitalized() -> None:
    audio = synth(["hello", "there.", "|", "good", "morning."])
    events, _, _ = run(audio)
    # the fake writes lower case; a final after a sentence end starts upper case
    assert [e.caption.text for e in events if e.caption.final] == ["hello there.", "Good morning."]


class StopsAfterFirstSentence(ToneRecognizer):
    """Whisper's failure mode: output ends at a sentence end, later speech ignored.

    Its interim decodes read no sentence ends, so the segment is not cut at
    them and its final decode meets the failure."""

    def decode(self, requests):  # type: ignore[no-untyped-def]
        results = super().decode(requests)
        out = []
        for req, res in zip(requests, results, strict=True):
            words = list(res.words)
            if not req.final:
                words = [replace(w, text=w.text.rstrip(".?")) for w in words]
            ends = [
                i
                for i, w in enumerate(words)
                if w.text.endswith((".", "?")) and w.start >= req.context_s
            ]
            if req.final and ends:
                words = words[: ends[0] + 1]
            out.append(replace(res, words=tuple(words)))
        return out


def test_speech_the_decoder_skipped_gets_its_own_final() -> None:
    words = ["hello", "there.", "how", "are", "you", "today?", "please", "press", "one", "two"]
    words += ["the", "key.", "fine", "good", "how", "are", "you", "please", "press", "the", "key."]
    audio = synth(words)
    backend = StopsAfterFirstSentence()
    policy = StreamPolicy(
        EnergyVad(),
        live_only(PolicyOptions(language="en", max_segment_s=10.0, hard_max_segment_s=20.0)),
    )
    events: list[Emitted] = []
    replay(Scheduler(backend), [policy], [audio], pace=Pace.SIMULATED, on_caption=events.append)
    assert finals(events)[0] == "hello there."
    assert " ".join(finals(events)).split() == words
    assert_finals_never_change(events)


@dataclass
class GuessingRecognizer(ToneRecognizer):
    """Detects Spanish on interim windows but Indonesian on the long final window."""

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        out = []
        for req, result in zip(requests, super().decode(requests), strict=True):
            guess = ("id", 0.7) if req.final else ("es", 0.8)
            language, probability = (req.language, 1.0) if req.language else guess
            out.append(replace(result, language=language, language_probability=probability))
        return out


def test_final_keeps_the_language_its_interims_heard() -> None:
    first = ["please", "press", "one", "two", "the", "key."]
    audio = synth([*first, "|", "how", "are", "you", "please", "press", "the", "key."])
    backend = GuessingRecognizer()
    # utterances long enough to detect a language on (2 s)
    events, _, policy = run(audio, PolicyOptions(language=None), backend)
    finals_ = [e.caption for e in events if e.caption.final]
    assert [c.language for c in finals_] == ["es", "es"]
    assert all(r.language == "es" for r in backend.requests if r.final)
    assert policy.language == "es"  # two confident finals agree: kept for the stream


@dataclass
class KoreanOnShortRecognizer(ToneRecognizer):
    """Detects Korean on less than 2 s of speech and English on more (a 0.3 s
    telephone "Hello?" came out as Korean with Whisper base)."""

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        out = []
        for req, result in zip(requests, super().decode(requests), strict=True):
            guess = ("en", 0.95) if len(req.audio) >= 2 * SAMPLE_RATE else ("ko", 0.9)
            language, probability = (req.language, 1.0) if req.language else guess
            out.append(replace(result, language=language, language_probability=probability))
        return out


def test_a_short_first_word_is_not_a_language_switch() -> None:
    audio = synth(["hello", "|", *["please", "press", "one", "two", "the"] * 2, "key."])
    backend = KoreanOnShortRecognizer()
    events, _, policy = run(audio, PolicyOptions(language=None), backend)
    finals_ = [e.caption for e in events if e.caption.final]
    assert finals_[0].text.lower() == "hello"
    assert {c.language for c in finals_} == {"en"}
    assert backend.requests[0].language == "en"  # too short to detect: decoded as English
    assert policy.language == "en"  # locked by the long second utterance, not the first word
