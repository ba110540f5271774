"""One browser tab in embedded mode: an aiortc peer connection and its captions.

A session captions one audio track (the offer's first audio section) with a
:class:`roomscribe.aio.CaptionStream` on the shared engine, so one offer can
take only one engine stream: every other media section is answered
``inactive``. Captions go back on the ``captions`` data channel as
:func:`roomscribe.protocol.caption_message` JSON. Before the channel is open
they wait in a small buffer; once it is open and the peer reads slowly (the
SCTP send buffer grows past a limit), interim captions are dropped and final
ones are always sent.

Besides captions, the server sends ``{"type": "hello", "session_id", "speaker"}``
once the channel opens and ``{"type": "error", "message"}`` for a control
message it cannot use; the client may send
``{"type": "set_language", "language": "de" | "auto"}``; an unknown code is
answered with an error, logged, and leaves the language as it was.

A session ends when its peer disconnects (connection ``failed``/``closed``,
every audio track ended), when no connection comes up or no audio arrives for
too long, or when the service closes. Ending finalizes every track's pending
sentence first and sends it if the channel is still open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from roomscribe import metrics
from roomscribe.aio import CaptionStream
from roomscribe.asr.engine import CapacityError, Engine
from roomscribe.asr.events import Caption
from roomscribe.languages import UnknownLanguageError, parse_language
from roomscribe.protocol import (
    DATA_CHANNEL_LABEL,
    MESSAGE_CAPTION,
    MESSAGE_ERROR,
    MESSAGE_HELLO,
    caption_message,
)
from roomscribe.server.embedded_audio import MonoResampler
from roomscribe.settings.embedded import EmbeddedOptions

log = logging.getLogger(__name__)

MESSAGE_SET_LANGUAGE = "set_language"
"""Client -> server on the data channel: ``{"type": "set_language", "language": "de"}``."""

CaptionHook = Callable[[str, dict[str, Any]], None]
"""Called with ``(session_id, message)`` for every caption a session produces,
whether or not it could be delivered (an observation point for tests and logs)."""

_MAX_CONTROL_MESSAGE = 4096


@dataclass(slots=True)
class SessionStats:
    """Counters of one session, also summed by the service."""

    captions_sent: int = 0
    captions_dropped: int = 0
    finals_sent: int = 0
    finals_dropped: int = 0

    def add(self, other: SessionStats) -> None:
        """Count ``other``'s captions in these (the service's totals)."""
        self.captions_sent += other.captions_sent
        self.captions_dropped += other.captions_dropped
        self.finals_sent += other.finals_sent
        self.finals_dropped += other.finals_dropped


class OfferError(ValueError):
    """The offer cannot be answered; ``status`` is the HTTP status to reply with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(slots=True, eq=False)
class _TrackPipe:
    track: MediaStreamTrack
    captions: CaptionStream
    resampler: MonoResampler = field(default_factory=MonoResampler)
    reader: asyncio.Task[None] | None = None
    pump: asyncio.Task[None] | None = None
    finalizing: asyncio.Task[None] | None = None


class EmbeddedSession:
    """A peer connection with one caption stream per received audio track."""

    def __init__(
        self,
        session_id: str,
        engine: Engine,
        *,
        speaker: str,
        language: str | None,
        options: EmbeddedOptions,
        on_closed: Callable[[EmbeddedSession], None],
        caption_hook: CaptionHook | None = None,
    ) -> None:
        self.session_id = session_id
        self.speaker = speaker
        self.stats = SessionStats()
        self.close_reason: str | None = None
        self._engine = engine
        self._language = language
        self._options = options
        self._on_closed = on_closed
        self._hook = caption_hook
        self._loop = asyncio.get_running_loop()
        servers = [RTCIceServer(urls=url) for url in options.ice_servers]
        # An explicit empty list: aiortc would otherwise query Google's STUN server.
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self._pipes: list[_TrackPipe] = []
        self._audio_offered = False
        self._ignored_tracks = 0
        self._channel: RTCDataChannel | None = None
        self._pending: deque[dict[str, Any]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._connected = asyncio.Event()
        self._channel_attached = asyncio.Event()
        self._last_audio = self._loop.time()
        self._capacity_error: CapacityError | None = None
        self._close_task: asyncio.Task[None] | None = None

        self._pc.on("track", self._on_track)
        self._pc.on("datachannel", self._on_datachannel)
        self._pc.on("connectionstatechange", self._on_connection_state)

    # -- negotiation ---------------------------------------------------------------

    async def answer(self, sdp: str) -> str:
        """Apply the client's offer and return the answer SDP (ICE fully gathered).

        Raises :class:`OfferError`; the caller then closes the session.
        """
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:  # aiortc raises many types for malformed SDP
            raise OfferError(
                400, f"could not use the SDP offer: {exc or type(exc).__name__}"
            ) from exc
        if self._capacity_error is not None:
            raise OfferError(503, str(self._capacity_error))
        if not self._pipes:
            raise OfferError(
                400, "the offer sends no audio: add a microphone or tab audio track (sendonly)"
            )
        captioned = self._pipes[0].track
        for transceiver in self._pc.getTransceivers():
            if transceiver.receiver.track is not captioned:
                transceiver.direction = "inactive"  # the browser sends nothing there
        if self._ignored_tracks:
            log.info(
                "session %s: %d further audio tracks answered inactive",
                self.session_id,
                self._ignored_tracks,
            )
        answer = await self._pc.createAnswer()
        await self._pc.setLocalDescription(answer)
        self._spawn(self._watch())
        return str(self._pc.localDescription.sdp)

    # -- lifecycle -------------------------------------------------------------------

    @property
    def language(self) -> str | None:
        """Language the client asked for (``None``: the engine's default or detection)."""
        return self._language

    @property
    def track_count(self) -> int:
        """Audio tracks captioned: 1 once the offer is answered (one engine stream)."""
        return len(self._pipes)

    @property
    def closed(self) -> bool:
        return self._close_task is not None

    def request_close(self, reason: str) -> asyncio.Task[None]:
        """Start closing (idempotent); returns the task doing it."""
        if self._close_task is None:
            self.close_reason = reason
            self._close_task = self._loop.create_task(self._close(reason))
        return self._close_task

    async def aclose(self, reason: str = "server shutdown") -> None:
        """Finalize every track's last sentence, send it if possible, close the peer."""
        await asyncio.shield(self.request_close(reason))

    async def _close(self, reason: str) -> None:
        log.info("session %s closing: %s", self.session_id, reason)
        try:
            for task in list(self._tasks):
                task.cancel()
            for pipe in self._pipes:
                if pipe.reader is not None:
                    pipe.reader.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for pipe in self._pipes:
                self._finalize(pipe)
            finalizing = [p.finalizing for p in self._pipes if p.finalizing is not None]
            pumps = [p.pump for p in self._pipes if p.pump is not None]
            try:
                async with asyncio.timeout(self._options.finalize_timeout_s):
                    await asyncio.gather(*finalizing, *pumps, return_exceptions=True)
            except TimeoutError:
                log.warning("session %s: last captions not finalized in time", self.session_id)
                for task in pumps:
                    task.cancel()
            for pipe in self._pipes:
                if pipe.reader is not None:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pipe.reader
            await self._drain_channel()
        finally:
            if self._channel is not None:
                self._channel.remove_all_listeners()
            self._pc.remove_all_listeners()
            with contextlib.suppress(Exception):
                await self._pc.close()
            self._on_closed(self)

    async def _drain_channel(self) -> None:
        """Close the data channel so the last captions reach the peer.

        ``RTCPeerConnection.close()`` aborts the SCTP association and discards
        whatever the peer has not acknowledged yet, while a channel close (an SCTP
        stream reset) is ordered after the data already sent and completes only
        once the peer has received it.
        """
        channel = self._channel
        if channel is None or channel.readyState != "open":
            return
        closed = asyncio.Event()
        channel.on("close", closed.set)
        channel.close()
        try:
            async with asyncio.timeout(self._options.drain_timeout_s):
                await closed.wait()
        except TimeoutError:
            log.info("session %s: the peer did not acknowledge the channel close", self.session_id)

    # -- peer connection events ------------------------------------------------------

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind != "audio" or self.closed:
            return
        if self._audio_offered:
            self._ignored_tracks += 1  # one engine stream per session
            return
        self._audio_offered = True
        try:
            captions = CaptionStream(self._engine, language=self._language)
        except CapacityError as exc:
            self._capacity_error = exc
            return
        pipe = _TrackPipe(track, captions)
        self._pipes.append(pipe)
        pipe.reader = self._loop.create_task(self._read(pipe))
        pipe.pump = self._loop.create_task(self._pump(pipe))

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        if channel.label == DATA_CHANNEL_LABEL and self._channel is None:
            self._attach(channel)

    def _on_connection_state(self) -> None:
        state = self._pc.connectionState
        if state == "connected":
            self._last_audio = self._loop.time()
            self._connected.set()
        elif state in ("failed", "closed"):
            self.request_close(f"peer connection {state}")

    # -- audio in -----------------------------------------------------------------------

    async def _read(self, pipe: _TrackPipe) -> None:
        try:
            while True:
                frame = await pipe.track.recv()
                self._last_audio = self._loop.time()
                pcm = pipe.resampler.convert(frame)
                if pcm.size:
                    pipe.captions.push_pcm16(pcm)
        except MediaStreamError:
            log.info("session %s: audio track %s ended", self.session_id, pipe.track.id)
        except Exception:
            log.exception("session %s: audio track %s failed", self.session_id, pipe.track.id)
        self._finalize(pipe)
        if all(p.finalizing is not None for p in self._pipes):
            self.request_close("every audio track ended")

    def _finalize(self, pipe: _TrackPipe) -> None:
        if pipe.finalizing is None:
            pipe.finalizing = self._loop.create_task(pipe.captions.aclose())

    # -- captions out ----------------------------------------------------------------

    async def _pump(self, pipe: _TrackPipe) -> None:
        async for caption in pipe.captions:
            self._emit(self._message(caption, pipe))
            if caption.final and not caption.revision:  # revisions are not live latency
                metrics.FINALS.inc()
                metrics.FINAL_LATENCY.observe(pipe.captions.age_of(caption.end))

    def _message(self, caption: Caption, pipe: _TrackPipe) -> dict[str, Any]:
        return caption_message(caption, speaker=self.speaker, track_id=pipe.track.id)

    def _emit(self, message: dict[str, Any]) -> None:
        if self._hook is not None:
            try:
                self._hook(self.session_id, message)
            except Exception:
                log.exception("caption hook failed")
        channel = self._channel
        if channel is None or channel.readyState == "connecting":
            self._buffer(message)
        elif channel.readyState == "open":
            self._send_caption(channel, message)
        else:
            self._count_dropped(message)

    def _buffer(self, message: dict[str, Any]) -> None:
        last = self._pending[-1] if self._pending else None
        if (
            last is not None
            and not last["final"]
            and last["segment_id"] == message["segment_id"]
            and last["track_id"] == message["track_id"]
        ):
            self._pending[-1] = message  # only the newest interim of a segment matters
            return
        self._pending.append(message)
        if len(self._pending) > self._options.pending_captions:
            # Make room by dropping the oldest interim; finals go only if nothing else is left.
            victim = next((m for m in self._pending if not m["final"]), self._pending[0])
            self._pending.remove(victim)
            self._count_dropped(victim)

    def _send_caption(self, channel: RTCDataChannel, message: dict[str, Any]) -> None:
        if not message["final"] and channel.bufferedAmount > self._options.max_buffered_bytes:
            self._count_dropped(message)  # slow reader: interims are expendable
            return
        if self._send(channel, message):
            self.stats.captions_sent += 1
            self.stats.finals_sent += bool(message["final"])
        else:
            self._count_dropped(message)

    def _count_dropped(self, message: dict[str, Any]) -> None:
        if message.get("type") != MESSAGE_CAPTION:
            return
        self.stats.captions_dropped += 1
        self.stats.finals_dropped += bool(message["final"])

    @staticmethod
    def _send(channel: RTCDataChannel, message: dict[str, Any]) -> bool:
        try:
            channel.send(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
        except Exception:  # InvalidStateError when the channel closed meanwhile
            return False
        return True

    # -- the data channel ----------------------------------------------------------

    def _attach(self, channel: RTCDataChannel) -> None:
        self._channel = channel
        self._channel_attached.set()
        channel.on("message", self._on_message)
        if channel.readyState == "open":
            self._on_channel_open()
        else:
            channel.on("open", self._on_channel_open)

    def _on_channel_open(self) -> None:
        channel = self._channel
        if channel is None:
            return
        self._send(
            channel,
            {"type": MESSAGE_HELLO, "session_id": self.session_id, "speaker": self.speaker},
        )
        while self._pending and channel.readyState == "open":
            self._send_caption(channel, self._pending.popleft())

    def _on_message(self, data: str | bytes) -> None:
        if not isinstance(data, str) or len(data) > _MAX_CONTROL_MESSAGE:
            self._reply_error("messages must be JSON text of at most 4 KiB")
            return
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            self._reply_error("message is not valid JSON")
            return
        if not isinstance(message, dict) or message.get("type") != MESSAGE_SET_LANGUAGE:
            self._reply_error(f"unknown message; expected {{'type': '{MESSAGE_SET_LANGUAGE}'}}")
            return
        try:
            language = parse_language(message.get("language"))
        except UnknownLanguageError as exc:
            log.warning("session %s: set_language ignored: %s", self.session_id, exc)
            self._reply_error(str(exc))
            return
        self._language = language
        for pipe in self._pipes:
            pipe.captions.set_language(language)

    def _reply_error(self, detail: str) -> None:
        if self._channel is not None and self._channel.readyState == "open":
            self._send(self._channel, {"type": MESSAGE_ERROR, "message": detail})

    # -- watchdog --------------------------------------------------------------------

    async def _watch(self) -> None:
        options = self._options
        try:
            async with asyncio.timeout(options.connect_timeout):
                await self._connected.wait()
        except TimeoutError:
            self.request_close(f"no connection within {options.connect_timeout:g} s")
            return
        try:
            async with asyncio.timeout(options.channel_grace_s):
                await self._channel_attached.wait()
        except TimeoutError:
            # The client negotiated SCTP but opened no `captions` channel itself.
            self._attach(self._pc.createDataChannel(DATA_CHANNEL_LABEL))
        tick = min(1.0, options.idle_timeout / 4)
        while True:
            await asyncio.sleep(tick)
            if self._loop.time() - self._last_audio > options.idle_timeout:
                self.request_close(f"no audio for {options.idle_timeout:g} s")
                return

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
