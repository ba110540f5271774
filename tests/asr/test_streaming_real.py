"""The streaming core with real Whisper models on real recordings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from numpy.typing import NDArray

from roomscribe.asr.backend import SAMPLE_RATE, DecodeRequest
from roomscribe.asr.policy import PolicyOptions, StreamPolicy
from roomscribe.asr.revision import RevisionOptions
from roomscribe.asr.scheduler import Scheduler
from roomscribe.asr.vad import SileroModel
from roomscribe.asr.whisper import WhisperBackend, WhisperOptions
from roomscribe.audio.decode import decode_file
from roomscribe.bench import allison, asterisk, conversation
from roomscribe.bench.metrics import final_transcript, revision_effects, score, wer
from roomscribe.bench.reference import Reference, load_reference
from roomscribe.replay import Emitted, Pace, replay

pytestmark = pytest.mark.model

MAX_CONVERSATION_FINAL_S = 2.5
"""tiny.en on the short G.711 conversation: 1.14 s at most at 51d0962, 2.91 s
before sentence ends were cut without waiting for a pause (17fcb81)."""
MAX_CONVERSATION_WER = 0.13
"""Measured 9.7 % (3.2 % at 17fcb81): "-2." for "two" and the normalizer
splitting "re-record" / "re-enter", not words lost at the cuts."""


@pytest.fixture(scope="module")
def tiny() -> WhisperBackend:
    return WhisperBackend.load(WhisperOptions(model="tiny.en"))


@pytest.fixture(scope="module")
def base() -> WhisperBackend:
    return WhisperBackend.load(WhisperOptions(model="base"))


@pytest.fixture(scope="module")
def vad() -> SileroModel:
    return SileroModel()


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recordings beside allison-a/b: other prompts, French, Spanish, music."""
    out = tmp_path_factory.mktemp("asterisk")
    asterisk.build_all(out, allison.prompts())
    return out


def stream(
    backend: WhisperBackend,
    vad: SileroModel,
    audio: NDArray[np.float32],
    language: str | None = "en",
    pace: Pace = Pace.SIMULATED,
    *,
    revise: bool = False,
) -> tuple[list[Emitted], StreamPolicy]:
    """Replay ``audio``; the revision pass only where asked: the other tests are
    about the live captions, and revising every window adds a third to their time."""
    revision = RevisionOptions(enabled=revise)
    policy = StreamPolicy(vad, PolicyOptions(language=language, revision=revision))
    events: list[Emitted] = []
    replay(Scheduler(backend), [policy], [audio], pace=pace, on_caption=events.append)
    return events, policy


def clip(wav: Path, seconds: float) -> tuple[NDArray[np.float32], Reference]:
    """The session's first utterances that fit in ``seconds``, and their reference."""
    ref = load_reference(wav)
    assert ref is not None
    cut = ref.fit(seconds)
    return decode_file(wav)[: int(cut * SAMPLE_RATE)], ref.cut(cut)


def assert_finals_never_change(events: list[Emitted]) -> None:
    done: set[str] = set()
    for e in events:
        if e.caption.revision:
            continue  # the revision pass replaces finals on purpose (see below)
        assert e.caption.segment_id not in done, f"segment changed after its final: {e.caption}"
        if e.caption.final:
            done.add(e.caption.segment_id)


@pytest.fixture(scope="module")
def allison_a(
    tiny: WhisperBackend, vad: SileroModel, eval_dir: Path
) -> tuple[list[Emitted], StreamPolicy, Reference]:
    """tiny.en on the first 30 s of allison-a (7 prompts), revisions on: one decode
    for the tests of the live captions and of their revisions."""
    audio, ref = clip(eval_dir / "allison-a.wav", 30.0)
    # CPU time, not wall time: where segments end (and so what is revised) must not
    # depend on what else the machine runs (under load it measured 4.5 % vs 2.3 %)
    events, policy = stream(tiny, vad, audio, pace=Pace.CPU, revise=True)
    return events, policy, ref


def live_only(events: list[Emitted]) -> list[Emitted]:
    return [e for e in events if not e.caption.revision]


def test_revised_transcript_is_at_least_as_good_as_the_live_one(
    allison_a: tuple[list[Emitted], StreamPolicy, Reference],
) -> None:
    events, policy, ref = allison_a
    live = live_only(events)
    live_finals = {e.caption.segment_id for e in live if e.caption.final}
    revisions = [e.caption for e in events if e.caption.revision]
    reviser = policy.reviser
    assert reviser is not None
    # every live final was read again: revised, or confirmed as it was
    assert reviser.revised_segments + reviser.confirmed_segments == len(live_finals)
    assert {c.segment_id for c in revisions} <= live_finals
    assert all(c.final for c in revisions)
    # one measure for both: the transcript with and without the revisions
    said = " ".join(u.text for u in ref.utterances)
    revised, shown = wer(said, final_transcript(events)), wer(said, final_transcript(live))
    print(f"\nWER revised {revised:.3f}, live {shown:.3f}")
    assert revised <= shown
    # judged one by one (tiny.en confirms every segment of this clip as it was; the
    # shapes of revisions that went wrong are in tests/asr/test_revision.py)
    effects = revision_effects(events, said)
    assert effects.worsened == 0
    assert effects.duplicated == 0


def test_a_long_form_decode_reads_on_past_the_pauses(base: WhisperBackend, eval_dir: Path) -> None:
    """A revision window holds several prompts with pauses between them. Read
    without timestamp tokens, base ended this one's text at the first pause
    ("... to the default level." and nothing of the five prompts after it)."""
    audio = decode_file(eval_dir / "allison-b.wav")
    ref = load_reference(eval_dir / "allison-b.wav")
    assert ref is not None
    start, end = 104.96, 120.33
    window = audio[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
    request = DecodeRequest(
        window,
        prompt="known caller. To lock or unlock the conference. To",
        language="en",
        final=True,
        long_form=True,
    )
    [result] = base.decode([request])
    spoken = " ".join(u.text for u in ref.utterances if u.end > start + 1 and u.start < end - 1)
    assert wer(spoken, result.text) <= 0.15, result.text
    last = [w for w in result.words if w.text.strip(" .,").lower() == "problems"]
    assert last, result.words
    assert 115.9 - start <= last[0].start <= 117.9 - start


def test_tiny_en_session(allison_a: tuple[list[Emitted], StreamPolicy, Reference]) -> None:
    """The live captions alone: what a listener saw before any revision."""
    events, _, ref = allison_a
    events = live_only(events)
    s = score(events, ref)
    print(f"\nWER {s.wer:.3f}, finalized {s.finalized} of {s.utterances}")
    assert_finals_never_change(events)
    assert s.wer <= 0.08, s.transcript  # measured 1.8 and 5.5 % on these 30 s
    assert s.finalized >= s.utterances - 2


def test_base_other_prompts(base: WhisperBackend, vad: SileroModel, sessions: Path) -> None:
    audio, ref = clip(sessions / "asterisk-en.wav", 20)
    events, _ = stream(base, vad, audio)
    s = score(events, ref)
    print(f"\nWER {s.wer:.3f} on {len(audio) / SAMPLE_RATE:.1f} s")
    assert_finals_never_change(events)
    assert s.wer <= 0.05, s.transcript  # measured 0 on these 20.4 s (43 words)


@pytest.mark.parametrize(
    ("name", "code", "seconds", "max_wer"),
    # French: 3 prompts (15.9 s), measured 9.1 and 12.1 % (16.4 % on 26.5 s). Spanish: 6
    # prompts (40.3 s), measured 9.2-10.8 %; its first 3 alone measured 21 % (one phrase)
    [("asterisk-fr", "fr", 16, 0.16), ("asterisk-es", "es", 40, 0.15)],
)
def test_base_detects_and_captions_other_languages(
    base: WhisperBackend,
    vad: SileroModel,
    sessions: Path,
    name: str,
    code: str,
    seconds: float,
    max_wer: float,
) -> None:
    audio, ref = clip(sessions / f"{name}.wav", seconds)
    events, policy = stream(base, vad, audio, language=None)
    assert policy.language == code
    finals = [e.caption for e in events if e.caption.final and e.caption.text]
    assert finals
    assert all(c.language == code for c in finals[1:])
    s = score(events, ref, code)
    print(f"\n{code}: WER {s.wer:.3f} on {len(audio) / SAMPLE_RATE:.1f} s")
    assert s.wer <= max_wer, s.transcript


def test_music_without_speech_gives_no_words(tiny: WhisperBackend, vad: SileroModel) -> None:
    events, _ = stream(tiny, vad, asterisk.music(60.0))
    words = [w for e in events if e.caption.final for w in e.caption.text.split()]
    assert words == []


def test_noise_gives_no_words(tiny: WhisperBackend, vad: SileroModel) -> None:
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(30 * SAMPLE_RATE)).astype(np.float32)
    events, _ = stream(tiny, vad, noise)
    assert [e for e in events if e.caption.text] == []


def test_speech_under_music_is_still_captioned(
    tiny: WhisperBackend, vad: SileroModel, sessions: Path
) -> None:
    audio, ref = clip(sessions / "asterisk-en-music.wav", 20)
    events, _ = stream(tiny, vad, audio)
    s = score(events, ref)
    print(f"\nWER {s.wer:.3f} on {len(audio) / SAMPLE_RATE:.1f} s")
    assert s.wer <= 0.07, s.transcript  # measured 0 on these 20.4 s (43 words)


def test_a_conversation_is_finalized_turn_by_turn(
    tiny: WhisperBackend, vad: SileroModel, tmp_path: Path
) -> None:
    """Two talkers, fast turns (gaps 0-0.3 s), a run-on of several prompts, G.711:
    no utterance waits for a pause the VAD hears (they came 6-10 s late when
    only a pause or 10 s of speech closed a segment)."""
    wav = conversation.short_conversation(tmp_path / "conversation.wav")
    ref = load_reference(wav)
    assert ref is not None
    # CPU time: the bound is on the endpointing, not on what else the machine runs
    # (on wall time it measured 3.8 s with a parallel test run and other work)
    events, _ = stream(tiny, vad, decode_file(wav), pace=Pace.CPU)
    s = score(events, ref)
    assert_finals_never_change(events)
    # every utterance's end reached by a final, soon
    assert len(s.final_by_time) == s.utterances
    assert max(s.final_by_time) <= MAX_CONVERSATION_FINAL_S, s.final_by_time
    # by its words too, but where a last word was misheard (measured: 12 of 14)
    assert s.finalized >= s.utterances - 2, s.transcript
    assert s.wer <= MAX_CONVERSATION_WER, s.transcript


class _NoAlignment:
    """The CTranslate2 model, except that ``align`` finds no path (as it did on a
    window of a few frames during a bench run)."""

    def __init__(self, model: object) -> None:
        self._model = model

    def __getattr__(self, name: str) -> object:
        return getattr(self._model, name)

    def align(self, *args: object, **kwargs: object) -> list[object]:
        results = self._model.align(*args, **kwargs)  # type: ignore[attr-defined]
        return [SimpleNamespace(alignments=[], text_token_probs=[]) for _ in results]


def test_a_decode_without_an_alignment_path_keeps_its_words(eval_dir: Path) -> None:
    backend = WhisperBackend.load(WhisperOptions(model="tiny.en"))
    backend._model = _NoAlignment(backend._model)
    audio = decode_file(eval_dir / "allison-a.wav")[int(0.6 * SAMPLE_RATE) : int(4.4 * SAMPLE_RATE)]
    [result] = backend.decode([DecodeRequest(audio, language="en", final=True)])
    assert "audio volume" in result.text.lower()
    assert [w.text.strip(" .").lower() for w in result.words][-2:] == ["other", "participants"]
    assert all(0 <= w.start <= w.end <= 3.9 for w in result.words)
