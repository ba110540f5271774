"""TrackPipeline on a real livekit-server, with the scripted engine of ``tests/asr/fakes``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from numpy.typing import NDArray

from roomscribe.asr.backend import DecodeRequest, DecodeResult
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.events import Caption
from roomscribe.asr.policy import PolicyOptions
from roomscribe.asr.vad import VadState
from roomscribe.livekit.pipeline import TrackPipeline
from roomscribe.livekit.publisher import CaptionPublisher
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.fixtures.livekit import running_livekit_server
from tests.livekit.participants import Speaker, connect, poll_until

pytestmark = pytest.mark.livekit


class FailingVad(EnergyVad):
    """A VAD model that raises after ``frames`` frames (as a broken model would)."""

    def __init__(self, frames: int) -> None:
        self.frames = frames

    def __call__(self, frame: NDArray[np.float32], state: VadState) -> float:
        self.frames -= 1
        if self.frames < 0:
            raise ValueError("the VAD model failed")
        return super().__call__(frame, state)


async def test_pipeline_whose_audio_fails_returns_its_engine_stream(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(
        ToneRecognizer(), FailingVad(frames=40), EngineOptions(policy=PolicyOptions(language="en"))
    )
    engine.start()
    with running_livekit_server(tmp_path) as server:
        speaker = Speaker(await connect(server, "pipeline", "ada", subscribe=False))
        room = await connect(server, "pipeline", "captioner")
        subscribed: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

        def on_subscribed(track: rtc.Track, *_: object) -> None:
            if not subscribed.done():
                subscribed.set_result(track)

        room.on("track_subscribed", on_subscribed)
        await speaker.publish()
        track = await asyncio.wait_for(subscribed, 20)
        pipeline = TrackPipeline(engine, room, track, speaker_identity="ada", language=None)
        pipeline.start()
        try:
            assert engine.active_streams == 1
            audio = synth(["hello", "there.", "how", "are", "you", "today?"] * 3)
            play = asyncio.create_task(speaker.play(audio, time.monotonic()))
            assert await poll_until(lambda: engine.active_streams == 0, 20), "stream leaked"
            # the engine's VAD thread contains the failure to this stream
            assert "the VAD failed on a stream's audio; finalizing that stream" in caplog.text
            await play
        finally:
            await asyncio.wait_for(pipeline.aclose(), 30)
            await speaker.aclose()
            await room.disconnect()
            engine.close(timeout=5)


class FailsFirstCalls(ToneRecognizer):
    """A model that fails its first ``calls`` decode calls, then works (a hiccup)."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.failing = calls

    def decode(self, requests: Sequence[DecodeRequest]) -> list[DecodeResult]:
        self.failing -= 1
        if self.failing >= 0:
            raise RuntimeError("model hiccup")
        return super().decode(requests)


async def test_pipeline_restarts_a_stream_the_engine_gave_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[Caption] = []
    real_publish = CaptionPublisher.publish

    def publish(self: CaptionPublisher, caption: Caption) -> None:
        published.append(caption)
        real_publish(self, caption)

    monkeypatch.setattr(CaptionPublisher, "publish", publish)
    # each failed job is a failed batch plus a failed retry: 6 calls = 3 jobs, the limit
    engine = Engine(
        FailsFirstCalls(calls=6), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en"))
    )
    engine.start()
    with running_livekit_server(tmp_path) as server:
        speaker = Speaker(await connect(server, "restart", "ada", subscribe=False))
        room = await connect(server, "restart", "captioner")
        subscribed: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

        def on_subscribed(track: rtc.Track, *_: object) -> None:
            if not subscribed.done():
                subscribed.set_result(track)

        room.on("track_subscribed", on_subscribed)
        await speaker.publish()
        track = await asyncio.wait_for(subscribed, 20)
        pipeline = TrackPipeline(engine, room, track, speaker_identity="ada", language=None)
        pipeline.start()
        try:
            audio = synth(["hello", "there.", "|", "how", "are", "you", "today?", "|"] * 4)
            await speaker.play(audio, time.monotonic())
            assert pipeline.restarts == 1
            assert "its decodes kept failing; restarting" in caplog.text
            assert engine.active_streams == 1
            # the fresh engine stream (the second one: segment ids "s2.<engine>-...") captions
            # what was said after the restart
            assert await poll_until(
                lambda: any(c.final and c.segment_id.startswith("s2.") for c in published), 10
            )
        finally:
            await asyncio.wait_for(pipeline.aclose(), 30)
            await speaker.aclose()
            await room.disconnect()
            engine.close(timeout=5)
