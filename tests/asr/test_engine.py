from __future__ import annotations

import asyncio
import gc
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from roomscribe.aio import CaptionStream
from roomscribe.asr.backend import DecodeRequest, DecodeResult
from roomscribe.asr.engine import CapacityError, Engine, EngineOptions, EngineStream
from roomscribe.asr.events import Caption
from roomscribe.asr.policy import PolicyOptions
from tests.asr.fakes import EnergyVad, ToneRecognizer, speaking, synth


def test_streams_share_the_engine_thread_and_finalize_on_close() -> None:
    engine = Engine(
        ToneRecognizer(),
        EnergyVad(),
        EngineOptions(max_streams=2, policy=PolicyOptions(language="en")),
    )
    got: dict[str, list[Caption]] = {"a": [], "b": []}
    with engine:
        a = engine.open_stream(got["a"].append)
        b = engine.open_stream(got["b"].append)
        with pytest.raises(CapacityError):
            engine.open_stream(lambda c: None)
        assert engine.load == 1.0

        def talk(stream: object, words: list[str]) -> None:
            audio = synth(words, tail_s=0.0)
            for i in range(0, len(audio), 320):
                stream.push(audio[i : i + 320])  # type: ignore[attr-defined]

        threads = [
            threading.Thread(target=talk, args=(a, ["hello", "there."])),
            threading.Thread(target=talk, args=(b, ["good", "morning."])),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        a.close()
        b.close()
        assert a.closed.wait(10)
        assert b.closed.wait(10)
        assert engine.active_streams == 0
    assert [c.text for c in got["a"] if c.final] == ["hello there."]
    assert [c.text for c in got["b"] if c.final] == ["good morning."]


def test_failed_decode_is_retried() -> None:
    class Flaky(ToneRecognizer):
        calls = 0

        def decode(self, requests):  # type: ignore[no-untyped-def]
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("transient failure")
            return super().decode(requests)

    engine = Engine(Flaky(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en")))
    got: list[Caption] = []
    with engine:
        s = engine.open_stream(got.append)
        s.push(synth(["hello", "there."], tail_s=1.0))
        s.close()
        assert s.closed.wait(10)
    assert [c.text for c in got if c.final] == ["hello there."]


def test_final_decode_that_keeps_failing_keeps_the_shown_text() -> None:
    class Broken(ToneRecognizer):
        def decode(self, requests):  # type: ignore[no-untyped-def]
            if any(r.final for r in requests):
                raise RuntimeError("model crashed")
            return super().decode(requests)

    engine = Engine(Broken(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en")))
    got: list[Caption] = []
    with engine:
        s = engine.open_stream(got.append)
        audio = synth(["please", "press", "one", "two", "the", "key."], tail_s=1.0)
        for i in range(0, len(audio), 1600):
            s.push(audio[i : i + 1600])
            time.sleep(0.02)  # let interim refreshes run
        s.close()
        assert s.closed.wait(10)
    shown = [c for c in got if not c.final]
    finals = [c for c in got if c.final]
    assert shown
    assert len(finals) == 1
    assert finals[0].text == shown[-1].text


def test_utterance_is_finalized_when_audio_stops_arriving() -> None:
    engine = Engine(
        ToneRecognizer(),
        EnergyVad(),
        EngineOptions(audio_gap_s=0.3, policy=PolicyOptions(language="en")),
    )
    got: list[Caption] = []
    with engine:
        s = engine.open_stream(got.append)
        s.push(synth(["good", "morning."], tail_s=0.0))  # then the mic is muted: no frames
        deadline = time.monotonic() + 5
        while not any(c.final for c in got) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [c.text for c in got if c.final] == ["good morning."]
        s.close()
        assert s.closed.wait(5)


# -- failure containment ---------------------------------------------------------------


def talk(stream: EngineStream, words: list[str]) -> None:
    audio = synth(words, tail_s=1.0)
    for i in range(0, len(audio), 1600):
        stream.push(audio[i : i + 1600])


class CorruptOnce(ToneRecognizer):
    """Returns one malformed result (no word list) for the first French request."""

    corrupted = False

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        out = super().decode(requests)
        for i, req in enumerate(requests):
            if req.language == "fr" and not self.corrupted:
                self.corrupted = True
                out[i] = replace(out[i], words=None)  # type: ignore[arg-type]
        return out


def test_exception_applying_a_result_does_not_stop_the_engine() -> None:
    engine = Engine(CorruptOnce(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en")))
    got: dict[str, list[Caption]] = {"a": [], "b": []}
    with engine:
        a = engine.open_stream(got["a"].append, language="fr")
        talk(a, ["hello", "there."])
        a.close()
        assert a.closed.wait(10)
        b = engine.open_stream(got["b"].append)
        talk(b, ["good", "morning."])
        b.close()
        assert b.closed.wait(10), "the engine thread stopped"
        assert engine.healthy
    assert [c.text for c in got["b"] if c.final] == ["good morning."]
    assert engine.failed_jobs == 1


class FailsAfter(ToneRecognizer):
    """Decodes of French requests fail after the first ``allowed`` of them."""

    def __init__(self, allowed: int) -> None:
        super().__init__()
        self.allowed = allowed

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        for req in requests:
            if req.language == "fr":
                if self.allowed <= 0:
                    raise RuntimeError("model crashed on this stream")
                self.allowed -= 1
        return super().decode(requests)


def test_stream_whose_decodes_keep_failing_is_finalized_and_marked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine(
        FailsAfter(allowed=2), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en"))
    )
    got: dict[str, list[Caption]] = {"a": [], "b": []}
    with engine:
        a = engine.open_stream(got["a"].append, language="fr")
        b = engine.open_stream(got["b"].append)
        # ``a`` talks on and on (never closed by us); its decodes start failing
        audio = speaking(["please", "press", "one", "two", "the", "key."] * 20)
        for i in range(0, len(audio), 1600):
            if a.closed.is_set():
                break
            a.push(audio[i : i + 1600])
            time.sleep(0.02)  # let the engine refresh interims between chunks
        assert a.closed.wait(10)
        talk(b, ["good", "morning."])
        b.close()
        assert b.closed.wait(10)
    assert a.failed
    assert not b.failed
    shown = [c for c in got["a"] if not c.final]
    finals = [c for c in got["a"] if c.final]
    assert shown, "the first decodes should have shown text"
    assert [c.text for c in finals] == [shown[-1].text]
    assert [c.text for c in got["b"] if c.final] == ["good morning."]
    assert "giving up a stream after 3 failed decodes in a row" in caplog.text


class EngineCrash(BaseException):
    """Stands in for what ``except Exception`` does not catch."""


class Crashing(ToneRecognizer):
    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        raise EngineCrash("the model's native code gave up")


async def test_engine_thread_death_is_reported_and_releases_streams(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine(Crashing(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en")))
    engine.start()
    try:
        assert engine.healthy
        captions = CaptionStream(engine, close_timeout_s=60)
        captions.push(synth(["hello", "there."], tail_s=1.0))
        assert await poll(lambda: not engine.healthy, 10)
        assert engine.load == 1.0
        assert isinstance(engine.failure, EngineCrash)
        # the stream was released by the dying thread, not by the close timeout
        async with asyncio.timeout(5):
            await captions.aclose()
            assert [c async for c in captions] == []
        with pytest.raises(CapacityError):
            engine.open_stream(lambda c: None)
    finally:
        engine.close(timeout=5)
    deaths = [r for r in caplog.records if "engine thread died" in r.getMessage()]
    assert len(deaths) == 1
    assert deaths[0].exc_info is not None
    assert deaths[0].exc_info[0] is EngineCrash


async def test_close_is_bounded_when_the_engine_is_stuck() -> None:
    release = threading.Event()

    class Hanging(ToneRecognizer):
        def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
            release.wait(30)
            return super().decode(requests)

    engine = Engine(
        Hanging(), EnergyVad(), EngineOptions(stall_s=0.5, policy=PolicyOptions(language="en"))
    )
    engine.start()
    try:
        captions = CaptionStream(engine, close_timeout_s=0.5)
        captions.push(synth(["hello", "there."], tail_s=1.0))
        assert await poll(lambda: not engine.healthy, 10), "a hung decode must show as unhealthy"
        assert engine.load == 1.0
        await captions.aclose()  # returns after its bound, dropping the stream
        assert engine.active_streams == 0
    finally:
        release.set()
        engine.close(timeout=5)
    assert engine.healthy  # closed on purpose


async def test_a_stream_dropped_at_its_close_bound_keeps_its_shown_text() -> None:
    """The speaker left while the engine was busy: the shown interim becomes final."""
    slow = threading.Event()

    class Busy(ToneRecognizer):
        def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
            if slow.is_set():
                time.sleep(1.5)
            return super().decode(requests)

    engine = Engine(Busy(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en")))
    with engine:
        captions = CaptionStream(engine, close_timeout_s=0.5)
        got: list[Caption] = []

        async def read() -> None:
            async for caption in captions:
                got.append(caption)

        reader = asyncio.create_task(read())
        audio = speaking(["hello", "how", "are", "you"])  # speech, no pause: no final yet
        for i in range(0, len(audio), 320):
            captions.push(audio[i : i + 320])
            await asyncio.sleep(0.02)
        assert await poll(lambda: any(not c.final for c in got), 10), "no interim shown"
        shown = [c for c in got if not c.final][-1].text
        slow.set()  # the last decode will not make the close bound
        await captions.aclose()
        await asyncio.wait_for(reader, 5)
        finals = [c for c in got if c.final]
        assert finals, "the shown text was dropped"
        assert finals[-1].text.startswith(shown.split()[0])
        assert engine.active_streams == 0


async def test_a_closed_stream_is_freed_without_the_cyclic_gc() -> None:
    """A closed stream goes with its last reference, not at the cyclic GC's next full
    collection: a worker's full collections are rare, and each closed track of the
    churn test held ~1.8 MB (its audio, and the track's native handles) until one came."""
    engine = Engine(
        ToneRecognizer(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en"))
    )
    with engine:
        captions = CaptionStream(engine)

        async def read(stream: CaptionStream) -> list[Caption]:
            return [c async for c in stream]

        reader = asyncio.create_task(read(captions))
        captions.push(synth(["hello", "there."], tail_s=0.0))
        await captions.aclose()
        assert [c.text for c in await reader if c.final] == ["hello there."]
        stream = captions._stream
        refs = [weakref.ref(o) for o in (captions, stream, stream.policy)]
        gc.disable()
        try:
            del captions, stream, reader
            # the engine thread lets go of the stream at its next step
            assert await poll(lambda: all(r() is None for r in refs), 5), [r() for r in refs]
        finally:
            gc.enable()


async def poll(predicate: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# -- overload ------------------------------------------------------------------------


class Slow(ToneRecognizer):
    """Slower than the audio is pushed: every batch takes 0.2 s."""

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        time.sleep(0.2)
        return super().decode(requests)


def test_engine_reports_full_load_when_it_cannot_keep_up() -> None:
    opts = PolicyOptions(language="en", max_segment_s=3, hard_max_segment_s=4, max_pending_s=6)
    engine = Engine(Slow(), EnergyVad(), EngineOptions(max_streams=8, policy=opts))
    with engine:
        s = engine.open_stream(lambda c: None)
        assert engine.load == 1 / 8
        # a minute of speech arrives much faster than 0.2 s per decode can serve
        audio = synth(["hello", "there.", "|", "how", "are", "you", "today?", "|"] * 30)
        for i in range(0, len(audio), 1600):
            s.push(audio[i : i + 1600])
        deadline = time.monotonic() + 10
        while engine.capped_segments == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.capped_segments > 0
        assert engine.load == 1.0
        s.close()
        assert s.closed.wait(30)


def test_segment_ids_differ_between_engines() -> None:
    """A healed room's new worker counts its streams from 1 again: its segment ids
    must not repeat the dead worker's (clients replace text by segment id)."""
    ids: list[set[str]] = []
    for _ in range(2):
        got: list[Caption] = []
        with Engine(ToneRecognizer(), EnergyVad(), EngineOptions(max_streams=1)) as engine:
            stream = engine.open_stream(got.append)
            audio = synth(["hello", "there."], tail_s=0.0)
            for i in range(0, len(audio), 320):
                stream.push(audio[i : i + 320])
            stream.close()
            assert stream.closed.wait(10)
        ids.append({c.segment_id for c in got})
    assert ids[0]
    assert ids[1]
    assert not ids[0] & ids[1]


class SlowVad(EnergyVad):
    """A VAD that notes which thread runs it and takes a while (a loaded CPU)."""

    def __init__(self) -> None:
        self.threads: set[str] = set()

    def __call__(self, frame, state):  # type: ignore[no-untyped-def]
        self.threads.add(threading.current_thread().name)
        time.sleep(0.002)
        return super().__call__(frame, state)


def test_a_push_never_runs_the_vad_on_the_callers_thread() -> None:
    vad = SlowVad()
    engine = Engine(ToneRecognizer(), vad, EngineOptions(policy=PolicyOptions(language="en")))
    got: list[Caption] = []
    with engine:
        s = engine.open_stream(got.append)
        audio = synth(["hello", "there."], tail_s=1.0)
        began = time.perf_counter()
        for i in range(0, len(audio), 320):
            s.push(audio[i : i + 320])
        pushed_in = time.perf_counter() - began
        s.close()
        assert s.closed.wait(10)
    assert threading.current_thread().name not in vad.threads
    assert vad.threads == {"roomscribe-vad"}
    # ~90 VAD frames at 2 ms each ran elsewhere: the pushes only queued audio
    assert pushed_in < 0.1
    assert [c.text for c in got if c.final] == ["hello there."]


def test_a_vad_that_fails_ends_only_its_stream_with_what_was_said() -> None:
    class Failing(EnergyVad):
        frames = 0

        def __call__(self, frame, state):  # type: ignore[no-untyped-def]
            Failing.frames += 1
            if Failing.frames == 60:
                raise RuntimeError("onnxruntime error")
            return super().__call__(frame, state)

    engine = Engine(ToneRecognizer(), Failing(), EngineOptions(policy=PolicyOptions(language="en")))
    got: list[Caption] = []
    with engine:
        s = engine.open_stream(got.append)
        s.push(synth(["hello", "there.", "good", "morning."], tail_s=0.0))
        assert s.closed.wait(10)
        assert engine.healthy
        other: list[Caption] = []
        t = engine.open_stream(other.append)
        t.push(synth(["good", "morning."], tail_s=1.0))
        t.close()
        assert t.closed.wait(10)
    assert [c.text for c in other if c.final] == ["good morning."]
