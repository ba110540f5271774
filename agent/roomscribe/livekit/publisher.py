"""Publish one audio track's captions into a LiveKit room.

Every caption update becomes a text stream on :data:`~roomscribe.protocol.TRANSCRIPTION_TOPIC`
sent on behalf of the speaker (``sender_identity``) with the attributes of
:func:`~roomscribe.protocol.caption_attributes`, plus a legacy
``publish_transcription`` packet for older front ends.

Captions go in with :meth:`CaptionPublisher.publish`, which never blocks, so a
slow room cannot stall the engine. The queue is bounded: a newer interim of a
segment replaces the queued one, and when the queue is full the oldest interim
is dropped. Final captions are not replaced; only when the queue holds
``max_queued_finals`` of them (the room has been stuck for minutes) is the
oldest dropped, counted and logged, so memory stays bounded. :meth:`aclose`
gives up after ``close_timeout_s``.

In a room that asks for timed payloads (:attr:`CaptionPublisher.timed`, from
the room's metadata), the payload is :func:`~roomscribe.protocol.timed_strings`
(livekit-agents' ``json_format``: JSON lines with word times) instead of the
plain text; the attributes are the same plus ``roomscribe.format``.

Revisions (a final re-decoded by the revision pass, ``caption.revision`` >= 1)
are sent like finals: a new text stream with the same ``lk.segment_id``,
``lk.transcription_final`` ``"true"`` and ``roomscribe.revision``, so a front
end that replaces text by segment id shows the revised text as it is.

Translations (``caption.translation``) go only to the listeners who asked for
them (``audience``), on a segment id of their own, without a legacy packet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from livekit import rtc

from roomscribe import protocol, timing
from roomscribe.asr.events import Caption

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublisherOptions:
    max_queued: int = 32
    """Interim captions are dropped beyond this many queued updates (finals never)."""
    legacy_packets: bool = True
    """Also send ``publish_transcription`` packets (pre text-stream clients)."""
    send_timeout_s: float = 10.0
    """One update that takes longer is given up (the room is gone or stuck)."""
    max_queued_finals: int = 256
    """Final captions queued past this (a stuck room) drop the oldest."""
    close_timeout_s: float = 10.0
    """:meth:`CaptionPublisher.aclose` stops sending after this long."""


class CaptionPublisher:
    """Sends the captions of one speaker's track; ``start()`` / ``aclose()``."""

    def __init__(
        self,
        room: rtc.Room,
        *,
        speaker_identity: str,
        track_sid: str,
        options: PublisherOptions | None = None,
        on_sent: Callable[[Caption], None] | None = None,
        audience: Callable[[], list[str]] | None = None,
    ) -> None:
        """``on_sent(caption)`` is called after each caption reached the room.
        ``audience()``: the identities that asked for translations (none: they are dropped)."""
        self._room = room
        self._speaker = speaker_identity
        self._track_sid = track_sid
        self._opts = options or PublisherOptions()
        self._on_sent = on_sent
        self._audience = audience
        self._queue: deque[Caption] = deque()
        self._wakeup = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._timed = timing.enabled()
        self.timed = False
        """Send :func:`~roomscribe.protocol.timed_strings` payloads (the room asks for them)."""
        self.dropped = 0
        """Interim updates dropped because the room was slow."""
        self.dropped_finals = 0
        """Final captions dropped because the room was stuck."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"publish-{self._track_sid}")

    def publish(self, caption: Caption) -> None:
        """Queue one caption update; returns at once."""
        if self._closing:
            raise RuntimeError("publisher is closed")
        # Segment ids are unique per engine stream only; prefix the track sid so
        # they are unique in the room.
        caption = replace(caption, segment_id=f"{self._track_sid}-{caption.segment_id}")
        last = self._queue[-1] if self._queue else None
        if last is not None and not last.final and last.segment_id == caption.segment_id:
            self._queue[-1] = caption
            self.dropped += 1
        else:
            self._queue.append(caption)
            if len(self._queue) > self._opts.max_queued:
                self._drop_oldest_interim()
            if len(self._queue) > self._opts.max_queued_finals:
                self._queue.popleft()
                self.dropped_finals += 1
                log.warning("room stuck: dropped a final caption of %s", self._speaker)
        self._wakeup.set()

    async def aclose(self) -> None:
        """Send what is queued (for at most ``close_timeout_s``), then stop."""
        self._closing = True
        self._wakeup.set()
        task, self._task = self._task, None
        try:
            if task is not None:
                await self._finish(task)
        finally:
            # The hook is usually a bound method of the pipeline that owns this
            # publisher: that cycle kept closed pipelines (their track and
            # participant handles too) until the cyclic GC's rare full collection.
            self._on_sent = None
            self._audience = None

    async def _finish(self, task: asyncio.Task[None]) -> None:
        done, _ = await asyncio.wait({task}, timeout=self._opts.close_timeout_s)
        if not done:
            log.warning(
                "gave up publishing %d caption(s) of %s after %.0f s",
                len(self._queue),
                self._speaker,
                self._opts.close_timeout_s,
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif not task.cancelled() and task.exception() is not None:
            log.error("publishing captions of %s failed", self._speaker, exc_info=task.exception())

    def _drop_oldest_interim(self) -> None:
        for i, queued in enumerate(self._queue):
            if not queued.final:
                del self._queue[i]
                self.dropped += 1
                return

    async def _run(self) -> None:
        while True:
            while self._queue:
                caption = self._queue.popleft()
                if self._timed:
                    timing.mark(
                        "send_start",
                        segment=caption.segment_id,
                        final=int(caption.final),
                        revision=caption.revision,
                        queued=len(self._queue),
                    )
                try:
                    async with asyncio.timeout(self._opts.send_timeout_s):
                        await self._send(caption)
                    if self._on_sent is not None:
                        self._on_sent(caption)
                except Exception as e:
                    if not self._room.isconnected():
                        log.info("room disconnected; dropping captions of %s", self._speaker)
                        self._queue.clear()
                        return
                    log.warning("could not publish a caption of %s: %s", self._speaker, e)
            if self._closing:
                return
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _send(self, caption: Caption) -> None:
        local = self._room.local_participant
        timed = self.timed
        to: list[str] | None = None  # everyone
        if caption.translation:
            to = self._audience() if self._audience is not None else []
            if not to:
                return  # nobody asks any more
        writer = await local.stream_text(
            topic=protocol.TRANSCRIPTION_TOPIC,
            sender_identity=self._speaker,
            attributes=protocol.caption_attributes(caption, self._track_sid, timed=timed),
            destination_identities=to,
        )
        try:
            await writer.write(protocol.timed_strings(caption) if timed else caption.text)
        finally:
            # an unclosed writer keeps its native handle for the life of the process
            await writer.aclose()
        if self._timed:
            timing.mark("stream_sent", segment=caption.segment_id)
        if self._opts.legacy_packets and not caption.translation:
            segment = rtc.TranscriptionSegment(
                id=caption.segment_id,
                text=caption.text,
                start_time=int(caption.start * 1000),
                end_time=int(caption.end * 1000),
                language=caption.language or "",
                final=caption.final,
            )
            await local.publish_transcription(
                rtc.Transcription(
                    participant_identity=self._speaker,
                    track_sid=self._track_sid,
                    segments=[segment],
                )
            )
            if self._timed:
                timing.mark("legacy_sent", segment=caption.segment_id)
