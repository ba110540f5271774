from __future__ import annotations

import threading
import time

import pytest

from roomscribe.asr.engine import CapacityError, Engine, EngineOptions
from roomscribe.asr.events import Caption
from roomscribe.asr.policy import PolicyOptions
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth


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
