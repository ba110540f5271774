"""One subscribed audio track: ``rtc.AudioStream`` -> ``CaptionStream`` -> publisher."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from livekit import rtc

from roomscribe.aio import CaptionStream
from roomscribe.asr.engine import Engine
from roomscribe.livekit.publisher import CaptionPublisher, PublisherOptions

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000


class TrackPipeline:
    """Captions one remote audio track until :meth:`aclose`.

    ``start()`` raises :class:`~roomscribe.asr.engine.CapacityError` when the
    engine has no free stream. ``aclose()`` stops reading audio, finalizes the
    pending tail, publishes it and releases everything.
    """

    def __init__(
        self,
        engine: Engine,
        room: rtc.Room,
        track: rtc.Track,
        *,
        speaker_identity: str,
        language: str | None,
        publisher_options: PublisherOptions | None = None,
    ) -> None:
        self._engine = engine
        self._room = room
        self._track = track
        self.speaker_identity = speaker_identity
        self.track_sid = track.sid
        self._language = language
        self._publisher = CaptionPublisher(
            room,
            speaker_identity=speaker_identity,
            track_sid=track.sid,
            options=publisher_options,
        )
        self._captions: CaptionStream | None = None
        self._audio: rtc.AudioStream | None = None
        self._audio_task: asyncio.Task[None] | None = None
        self._caption_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._captions = CaptionStream(self._engine, language=self._language)
        self._audio = rtc.AudioStream(self._track, sample_rate=SAMPLE_RATE, num_channels=1)
        self._publisher.start()
        name = f"{self.speaker_identity}/{self.track_sid}"
        self._audio_task = asyncio.create_task(self._pump_audio(), name=f"audio {name}")
        self._caption_task = asyncio.create_task(self._pump_captions(), name=f"captions {name}")
        log.info("captioning %s (language: %s)", name, self._language or "worker default")

    def set_language(self, language: str | None) -> None:
        self._language = language
        if self._captions is not None:
            self._captions.set_language(language)

    async def aclose(self) -> None:
        """Finalize the pending tail, publish it, release the track."""
        if self._audio_task is not None:
            self._audio_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._audio_task
            self._audio_task = None
        if self._audio is not None:
            await self._audio.aclose()
            self._audio = None
        if self._captions is not None:
            await self._captions.aclose()
            self._captions = None
        if self._caption_task is not None:
            await self._caption_task
            self._caption_task = None
        await self._publisher.aclose()
        log.info("stopped captioning %s/%s", self.speaker_identity, self.track_sid)

    async def _pump_audio(self) -> None:
        assert self._audio is not None
        assert self._captions is not None
        async for event in self._audio:
            self._captions.push_pcm16(event.frame.data)

    async def _pump_captions(self) -> None:
        assert self._captions is not None
        captions = self._captions
        async for caption in captions:
            self._publisher.publish(caption)
