"""TrackPipeline on a real livekit-server, with the scripted engine of ``tests/asr/fakes``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from livekit import rtc
from numpy.typing import NDArray

from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.asr.vad import VadState
from roomscribe.livekit.pipeline import TrackPipeline
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
            assert "audio of ada/" in caplog.text
            assert "failed; finalizing its captions" in caplog.text
            await play
        finally:
            await asyncio.wait_for(pipeline.aclose(), 30)
            await speaker.aclose()
            await room.disconnect()
            engine.close(timeout=5)
