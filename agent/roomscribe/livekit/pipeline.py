"""One subscribed audio track: ``rtc.AudioStream`` -> ``CaptionStream`` -> publisher.

A pipeline fails alone: when its audio stops (the track ended, or reading it
raised) its captions are finalized at once, which returns the engine stream;
every step of :meth:`TrackPipeline.aclose` is bounded and logs what it swallows.
When the engine gives the stream up (its decodes kept failing), the pipeline
opens a fresh one, at most once per ``RESTART_INTERVAL_S``, so captions come
back after a model hiccup without the speaker republishing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import numpy as np
from livekit import rtc

from roomscribe import metrics, timing
from roomscribe.aio import CaptionStream
from roomscribe.asr.engine import CapacityError, Engine
from roomscribe.asr.events import Caption
from roomscribe.livekit.publisher import CaptionPublisher, PublisherOptions

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
STEP_TIMEOUT_S = 5.0
"""Bound of each step of closing that has no bound of its own."""
RESTART_INTERVAL_S = 10.0
"""Least time between two fresh engine streams for one track (after failures)."""


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
        vocabulary: tuple[str, ...] | None = None,
        on_sent: Callable[[Caption], None] | None = None,
        timed: bool = False,
        translation: str | None = None,
        audience: Callable[[], list[str]] | None = None,
    ) -> None:
        """``vocabulary``: terms the recognizer favours (``None``: the engine's own).
        ``timed``: publish timed payloads (see :meth:`set_timed`).
        ``on_sent(caption)`` is called for every caption that reached the room
        (its ``segment_id`` as published). ``translation``: the language finals
        are also translated into, for the listeners ``audience()`` names
        (see :meth:`set_translation`)."""
        self._engine = engine
        self._room = room
        self._track = track
        self.speaker_identity = speaker_identity
        self.track_sid = track.sid
        self._language = language
        self._vocabulary = vocabulary
        self._translation = translation
        self._sent_hook = on_sent
        self._publisher = CaptionPublisher(
            room,
            speaker_identity=speaker_identity,
            track_sid=track.sid,
            options=publisher_options,
            on_sent=self._on_sent,
            audience=audience,
        )
        self._publisher.timed = timed
        self._captions: CaptionStream | None = None
        self._audio: rtc.AudioStream | None = None
        self._audio_task: asyncio.Task[None] | None = None
        self._caption_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.restarts = 0
        """Fresh engine streams opened after the engine gave one up."""

    def start(self) -> None:
        self._captions = self._open_captions()
        try:
            self._audio = rtc.AudioStream(self._track, sample_rate=SAMPLE_RATE, num_channels=1)
            self._publisher.start()
        except BaseException:
            self._captions.close_nowait()  # returns the engine stream
            raise
        name = self.name
        self._audio_task = asyncio.create_task(self._pump_audio(), name=f"audio {name}")
        self._caption_task = asyncio.create_task(self._pump_captions(), name=f"captions {name}")
        log.info("captioning %s (language: %s)", name, self._language or "worker default")

    def set_language(self, language: str | None) -> None:
        self._language = language
        if self._captions is not None:
            self._captions.set_language(language)

    def set_vocabulary(self, terms: tuple[str, ...]) -> None:
        """Terms the recognizer favours from now on (the room's vocabulary)."""
        self._vocabulary = terms
        if self._captions is not None:
            self._captions.set_vocabulary(terms)

    def set_timed(self, timed: bool) -> None:
        """Publish :func:`~roomscribe.protocol.timed_strings` payloads from now on (or not)."""
        self._publisher.timed = timed

    def set_translation(self, target: str | None) -> None:
        """Also caption finals in ``target`` from now on (``None``: stop). Raises
        :class:`ValueError` when the model cannot translate."""
        if self._captions is not None:
            self._captions.set_translation(target)
        self._translation = target

    def _open_captions(self) -> CaptionStream:
        captions = CaptionStream(self._engine, language=self._language, vocabulary=self._vocabulary)
        if self._translation is not None:
            captions.set_translation(self._translation)
        return captions

    def _on_sent(self, caption: Caption) -> None:
        if self._sent_hook is not None:
            self._sent_hook(caption)
        captions = self._captions
        live_final = caption.final and not caption.revision and not caption.translation
        if live_final and captions is not None:
            metrics.FINALS.inc()
            metrics.FINAL_LATENCY.observe(captions.age_of(caption.end))

    @property
    def name(self) -> str:
        return f"{self.speaker_identity}/{self.track_sid}"

    async def aclose(self) -> None:
        """Finalize the pending tail, publish it, release the track.

        Every step is bounded (the caption stream and the publisher by their
        own timeouts), so this returns even when the engine or the room is stuck.
        """
        self._stopping.set()
        if self._audio_task is not None:
            self._audio_task.cancel()
            await _bounded(self._audio_task, "reading audio", self.name)
            self._audio_task = None
        if self._audio is not None:
            await _bounded(self._audio.aclose(), "closing the audio stream", self.name)
            self._audio = None
        if self._captions is not None:
            await self._captions.aclose()
            self._captions = None
        if self._caption_task is not None:
            await _bounded(self._caption_task, "forwarding captions", self.name)
            self._caption_task = None
        await self._publisher.aclose()
        log.info("stopped captioning %s", self.name)

    async def _pump_audio(self) -> None:
        assert self._audio is not None
        timed = timing.enabled()
        try:
            async for event in self._audio:
                captions = self._captions  # replaced when the engine gave one up
                if captions is not None:
                    captions.push_pcm16(event.frame.data)
                    if timed:
                        self._mark_audio(event.frame, captions)
        except Exception:
            log.exception("audio of %s failed; finalizing its captions", self.name)
        else:
            log.info("audio of %s ended; finalizing its captions", self.name)
        # no more audio will come: finalize now, which also returns the engine stream
        self._stopping.set()
        if self._captions is not None:
            self._captions.close_nowait()

    def _mark_audio(self, frame: rtc.AudioFrame, captions: CaptionStream) -> None:
        pcm = np.frombuffer(frame.data, dtype=np.int16)
        peak = max(int(pcm.max()), -int(pcm.min())) if pcm.size else 0
        timing.mark("audio", track=self.track_sid, pushed=f"{captions.pushed_s:.3f}", peak=peak)

    async def _pump_captions(self) -> None:
        restarted_at = -RESTART_INTERVAL_S
        timed = timing.enabled()
        while (captions := self._captions) is not None:
            async for caption in captions:
                if timed:
                    timing.mark("loop_in", track=self.track_sid, segment=caption.segment_id)
                try:
                    self._publisher.publish(caption)
                except Exception:
                    log.exception("could not queue a caption of %s", self.name)
            if not captions.failed or self._stopping.is_set():
                return
            loop = asyncio.get_running_loop()
            wait = restarted_at + RESTART_INTERVAL_S - loop.time()
            log.error(
                "captioning of %s stopped: its decodes kept failing; restarting in %.0f s",
                self.name,
                max(0.0, wait),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), max(0.0, wait))
            if self._stopping.is_set():
                return
            try:
                self._captions = self._open_captions()
            except CapacityError as e:
                log.error("cannot restart captioning %s: %s", self.name, e)
                return
            restarted_at = loop.time()
            self.restarts += 1


async def _bounded(aw: Awaitable[object], what: str, name: str) -> None:
    """Await a closing step for at most ``STEP_TIMEOUT_S``, logging (not raising) its failure."""
    task = asyncio.ensure_future(aw)
    done, _ = await asyncio.wait({task}, timeout=STEP_TIMEOUT_S)
    if not done:
        log.warning("%s of %s did not stop within %.0f s", what, name, STEP_TIMEOUT_S)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    elif not task.cancelled() and task.exception() is not None:
        log.error("%s of %s failed", what, name, exc_info=task.exception())
