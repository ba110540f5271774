"""Caption every speaker of one room: one :class:`TrackPipeline` per audio track.

Subscribes to each remote participant's microphone and shared-tab audio (present
at join or published later), follows their
:data:`~roomscribe.protocol.ATTR_SPOKEN_LANGUAGE` attribute, and finalizes a
track's captions when it is unpublished or its participant leaves.

Keeps the room's transcript of record (:class:`RoomTranscript`, every final
that reached the room, revised text included), writes it to the transcript
store when there is one (:mod:`roomscribe.store`, shared with other workers and
surviving this one), and sends it to each participant who joins later,
addressed to them alone on :data:`~roomscribe.protocol.BACKLOG_TOPIC`: from the
store (the whole meeting, whichever worker captioned it) or, without one or
while it cannot be read, from memory.
Tells each participant when one of their tracks is captioned from then on
(:data:`~roomscribe.protocol.HEARING_TOPIC`).

A track refused because the engine is full waits: it is tried again whenever
a stream is released anywhere in the worker (:mod:`.capacity`). Meanwhile the
room knows: the captioner's :data:`~roomscribe.protocol.ATTR_WAITING`
attribute lists the waiting tracks.
Applies the room's vocabulary (room metadata, see :mod:`roomscribe.vocabulary`)
and caption format (:data:`~roomscribe.protocol.METADATA_TRANSCRIPTION_FORMAT`)
to every track, at start and whenever the metadata changes.
Translates every track's finals into English while at least one participant
asks for it (:data:`~roomscribe.protocol.ATTR_TRANSLATE_TO`), for them alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

from livekit import rtc
from livekit.rtc.room import EventTypes

from roomscribe import protocol, timing
from roomscribe.asr.engine import CapacityError, Engine
from roomscribe.asr.events import Caption
from roomscribe.asr.translation import TARGETS
from roomscribe.livekit.capacity import CapacityWaiters
from roomscribe.livekit.pipeline import TrackPipeline
from roomscribe.livekit.publisher import PublisherOptions
from roomscribe.livekit.transcript import RoomTranscript
from roomscribe.store import RecordWriter, StoredSegment
from roomscribe.vocabulary import VocabularyError, from_metadata

log = logging.getLogger(__name__)

CLOSE_TIMEOUT_S = 30.0
"""How long :meth:`RoomCaptioner.aclose` waits for its pipelines to publish their last captions."""
BACKLOG_TIMEOUT_S = 30.0
"""Sending one late joiner's backlog is given up after this long."""
HEARING_TIMEOUT_S = 10.0
"""Telling a participant that their track is captioned is given up after this long."""


def is_captioned(publication: rtc.TrackPublication) -> bool:
    """Microphones and shared browser-tab audio; nothing else."""
    if publication.kind != rtc.TrackKind.KIND_AUDIO:
        return False
    return (
        publication.source
        in (
            rtc.TrackSource.SOURCE_MICROPHONE,
            rtc.TrackSource.SOURCE_SCREENSHARE_AUDIO,
        )
        or publication.name == protocol.TAB_AUDIO_TRACK_NAME
    )


def spoken_language(participant: rtc.Participant) -> str | None:
    """The participant's language attribute; ``None`` for ``auto``, unset or unknown (logged)."""
    from roomscribe.languages import validate_language

    value = participant.attributes.get(protocol.ATTR_SPOKEN_LANGUAGE, "").strip()
    return validate_language(value, source=f"participant {participant.identity}")


class RoomCaptioner:
    """Owns the pipelines of one connected room; ``start()`` / ``aclose()``."""

    def __init__(
        self,
        engine: Engine,
        room: rtc.Room,
        publisher_options: PublisherOptions | None = None,
        *,
        close_timeout_s: float = CLOSE_TIMEOUT_S,
        transcript: RoomTranscript | None = None,
        capacity: CapacityWaiters | None = None,
        record: RecordWriter | None = None,
    ) -> None:
        """``capacity``: the worker's rooms, told when this room releases a stream
        and telling it when another room does (default: this room alone).
        ``record``: the process's transcript store writer (``None``: memory only)."""
        self._engine = engine
        self._room = room
        self._close_timeout_s = close_timeout_s
        self._publisher_options = publisher_options
        self._pipelines: dict[str, TrackPipeline] = {}
        self._waiting: dict[
            str, tuple[rtc.Track, rtc.RemoteTrackPublication, rtc.RemoteParticipant]
        ] = {}
        """Tracks refused because the engine was full, by track sid."""
        self._capacity = capacity or CapacityWaiters()
        self._waiting_sent = ""
        """:data:`~roomscribe.protocol.ATTR_WAITING` as the room last acknowledged it."""
        self._waiting_sync: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.transcript = transcript or RoomTranscript()
        """Finals the room received; what late joiners are sent without a store."""
        self._record = record
        self._meeting = ""
        """The room's sid: the store keeps each meeting of a room name apart."""
        self._room_started_at = 0.0
        """When LiveKit created the room (Unix seconds; 0: not known yet)."""
        self._messages: set[asyncio.Task[None]] = set()
        """Backlogs and hearing notices being sent (cancelled at close)."""
        self.vocabulary: tuple[str, ...] | None = None
        """The room's vocabulary as applied (``None``: the room has set none)."""
        self.timed = False
        """The room asks for timed caption payloads (its metadata)."""
        self.translation: str | None = None
        """The language finals are also captioned in (``None``: nobody asks)."""
        self._askers: list[str] = []
        """Identities of the participants who ask for :attr:`translation`."""
        self._handlers: dict[EventTypes, Callable[..., Any]] = {
            "participant_connected": self._on_participant_joined,
            "track_published": self._on_track_published,
            "track_subscribed": self._on_track_subscribed,
            "track_unsubscribed": self._on_track_unsubscribed,
            "track_unpublished": self._on_track_unpublished,
            "participant_disconnected": self._on_participant_disconnected,
            "participant_attributes_changed": self._on_attributes_changed,
            "reconnected": self._on_reconnected,
            "room_metadata_changed": self._on_room_metadata_changed,
        }
        self._told_cannot_translate = False
        self._closed = False
        self._loop_watch: asyncio.Task[None] | None = None

    @property
    def active_tracks(self) -> int:
        return len(self._pipelines)

    @property
    def askers(self) -> list[str]:
        """Identities of the participants who ask for :attr:`translation`."""
        return list(self._askers)

    @property
    def waiting_tracks(self) -> int:
        """Tracks refused because the engine was full, waiting for a stream."""
        return len(self._waiting)

    def start(self) -> None:
        """Register the room handlers and subscribe to the tracks already published."""
        for event, handler in self._handlers.items():
            self._room.on(event, handler)
        self._capacity.join(self, waiting=lambda: len(self._waiting), retry=self._retry_waiting)
        self._apply_metadata(self._room.metadata)
        self._update_translation()
        if self._record is not None:
            self._spawn(self._learn_meeting(), "room sid")
        for participant in self._room.remote_participants.values():
            self._on_participant_connected(participant)
            # After a heal or a hand-over: whoever joined while the room had no
            # captioner has missed finals (the store has them; memory is empty).
            if participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
                self._spawn(self._send_backlog(participant.identity), "backlog")
        if timing.enabled():
            self._loop_watch = asyncio.create_task(timing.watch_loop(self._room.name))

    async def aclose(self) -> None:
        """Finalize and publish every track's pending captions, then detach."""
        if self._closed:
            return
        self._closed = True
        if self._loop_watch is not None:
            self._loop_watch.cancel()
        for event, handler in self._handlers.items():
            self._room.off(event, handler)
        self._capacity.leave(self)
        self._waiting.clear()
        if self._waiting_sync is not None:
            self._waiting_sync.cancel()
        for message in self._messages:
            message.cancel()
        for sid in list(self._pipelines):
            self._close_pipeline(sid)
        if not self._closing:
            return
        # each pipeline's close is bounded; this is the backstop for the room
        _, pending = await asyncio.wait(set(self._closing), timeout=self._close_timeout_s)
        for task in pending:
            log.error(
                "closing %s took over %.0f s; cancelled", task.get_name(), self._close_timeout_s
            )
            task.cancel()
        if pending:
            await asyncio.wait(pending)

    # -- room events (synchronous callbacks) -------------------------------------

    def _on_participant_joined(self, participant: rtc.RemoteParticipant) -> None:
        # an attribute set before we heard of the participant comes with the join,
        # with no change event
        self._update_translation()
        self._on_participant_connected(participant)
        has_record = self._record is not None or len(self.transcript)
        if participant.kind != rtc.ParticipantKind.PARTICIPANT_KIND_AGENT and has_record:
            self._spawn(self._send_backlog(participant.identity), f"backlog {participant.identity}")

    def _on_participant_connected(self, participant: rtc.RemoteParticipant) -> None:
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return  # agents publish their own transcriptions
        for publication in participant.track_publications.values():
            self._on_track_published(publication, participant)

    def _on_track_published(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        if is_captioned(publication):
            if publication.track is not None:
                self._on_track_subscribed(publication.track, publication, participant)
            else:
                publication.set_subscribed(True)

    def _on_track_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if self._closed or track.sid in self._pipelines or not is_captioned(publication):
            return
        if participant.kind == rtc.ParticipantKind.PARTICIPANT_KIND_AGENT:
            return
        pipeline = TrackPipeline(
            self._engine,
            self._room,
            track,
            speaker_identity=participant.identity,
            language=spoken_language(participant),
            publisher_options=self._publisher_options,
            vocabulary=self.vocabulary,
            on_sent=self._recorder(participant, track.sid),
            timed=self.timed,
            translation=self.translation,
            audience=lambda: self._askers,
        )
        try:
            pipeline.start()
        except CapacityError as e:
            # Kept, and tried again whenever a stream of the worker is released.
            if track.sid not in self._waiting:
                log.warning("not captioning %s/%s yet: %s", participant.identity, track.sid, e)
                self._waiting[track.sid] = (track, publication, participant)
                self._waiting_changed()
            return
        except Exception:
            self._waiting.pop(track.sid, None)
            log.exception("could not start captioning %s/%s", participant.identity, track.sid)
            return
        self._waiting.pop(track.sid, None)
        self._pipelines[track.sid] = pipeline
        self._spawn(self._tell_hearing(participant.identity, track.sid), f"hearing {track.sid}")

    def _on_track_unsubscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        self._close_pipeline(publication.sid)

    def _on_track_unpublished(
        self, publication: rtc.RemoteTrackPublication, participant: rtc.RemoteParticipant
    ) -> None:
        self._close_pipeline(publication.sid)

    def _on_participant_disconnected(self, participant: rtc.RemoteParticipant) -> None:
        self._update_translation(leaving=participant.identity)
        for sid, (_, _, waiting) in list(self._waiting.items()):
            if waiting.identity == participant.identity:
                del self._waiting[sid]
        self._waiting_changed()
        for sid, pipeline in list(self._pipelines.items()):
            if pipeline.speaker_identity == participant.identity:
                self._close_pipeline(sid)

    def _on_reconnected(self) -> None:
        # After a full reconnect (a livekit-server restart) tracks published
        # meanwhile come with the room's new state, without track events.
        for participant in self._room.remote_participants.values():
            self._on_participant_connected(participant)

    def _on_attributes_changed(self, changed: dict[str, str], participant: rtc.Participant) -> None:
        if protocol.ATTR_TRANSLATE_TO in changed:
            self._update_translation()
        if protocol.ATTR_SPOKEN_LANGUAGE not in changed:
            return
        language = spoken_language(participant)
        for pipeline in self._pipelines.values():
            if pipeline.speaker_identity == participant.identity:
                log.info("%s now speaks %s", participant.identity, language or "auto")
                pipeline.set_language(language)

    def _on_room_metadata_changed(self, old_metadata: str, new_metadata: str) -> None:
        self._apply_metadata(new_metadata)

    # -- helpers -------------------------------------------------------------------

    def _apply_metadata(self, metadata: str) -> None:
        self._apply_vocabulary(metadata)
        timed = protocol.wants_timed_strings(metadata)
        if timed != self.timed:
            self.timed = timed
            log.info("room %s captions: %s", self._room.name, "timed JSON" if timed else "text")
            for pipeline in self._pipelines.values():
                pipeline.set_timed(timed)

    def _apply_vocabulary(self, metadata: str) -> None:
        """Validate the room's vocabulary again (untrusted metadata); hand it to every track."""
        try:
            terms = from_metadata(metadata)
        except VocabularyError as e:
            log.warning("room %s: ignoring its vocabulary: %s", self._room.name, e)
            return
        if terms == (self.vocabulary or ()):
            return
        self.vocabulary = terms
        log.info("room %s vocabulary: %d term(s) %s", self._room.name, len(terms), list(terms))
        for pipeline in self._pipelines.values():
            pipeline.set_vocabulary(terms)

    def _update_translation(self, leaving: str = "") -> None:
        """Count the participants asking for English captions; start or stop translating."""
        self._askers = sorted(
            p.identity
            for p in self._room.remote_participants.values()
            if p.identity != leaving
            and p.attributes.get(protocol.ATTR_TRANSLATE_TO, "").strip() in TARGETS
        )
        target = TARGETS[0] if self._askers else None
        if target == self.translation:
            return
        if target is not None and not self._engine.backend.multilingual:
            if not self._told_cannot_translate:
                self._told_cannot_translate = True
                log.warning(
                    "room %s: %s asked for captions in %s, but this worker's model is "
                    "English-only and cannot translate: no translated captions "
                    "(run a multilingual model, e.g. --model base)",
                    self._room.name,
                    ", ".join(self._askers),
                    target,
                )
            return
        self.translation = target
        if target is None:
            log.info("room %s: no listener asks for translations any more", self._room.name)
        else:
            log.info("room %s: translating into %s for %s", self._room.name, target, self._askers)
        for pipeline in self._pipelines.values():
            pipeline.set_translation(target)

    def _recorder(self, participant: rtc.Participant, track_sid: str) -> Callable[[Caption], None]:
        """The ``on_sent`` hook of one track: finals go into the transcript of record."""
        # Caption times count from the track's stream, which starts now.
        stream_started_at = time.time()

        def record(caption: Caption) -> None:
            if caption.translation:
                return  # the transcript of record keeps what was said
            name = participant.name or participant.identity
            try:
                self.transcript.record(
                    caption, speaker=participant.identity, speaker_name=name, track_id=track_sid
                )
                if self._record is not None and caption.final:
                    self._record.put(
                        StoredSegment(
                            room=self._room.name,
                            segment_id=caption.segment_id,
                            meeting=self._meeting,
                            speaker=participant.identity,
                            speaker_name=name,
                            track_id=track_sid,
                            text=caption.text.strip(),
                            start=caption.start,
                            end=caption.end,
                            spoken_at=stream_started_at + caption.start,
                            final_at=time.time(),
                            language=caption.language,
                            revision=caption.revision,
                            room_started_at=self._room_started_at,
                        )
                    )
            except Exception:  # the record must never stop the captions
                log.exception("could not record a caption of %s", participant.identity)

        return record

    def _spawn(self, message: Coroutine[Any, Any, None], name: str) -> None:
        """Send a message to one participant in the background (kept until done)."""
        task = asyncio.create_task(message, name=name)
        self._messages.add(task)
        task.add_done_callback(self._messages.discard)

    async def _tell_hearing(self, identity: str, track_sid: str) -> None:
        """Tell ``identity`` that its track is captioned from now on (see
        :data:`~roomscribe.protocol.HEARING_TOPIC`)."""
        try:
            async with asyncio.timeout(HEARING_TIMEOUT_S):
                await self._room.local_participant.publish_data(
                    track_sid,
                    reliable=True,
                    destination_identities=[identity],
                    topic=protocol.HEARING_TOPIC,
                )
        except Exception as e:  # their captions flow anyway; their page says "starting" longer
            log.warning("could not tell %s that %s is captioned: %s", identity, track_sid, e)

    async def _learn_meeting(self) -> None:
        self._meeting = await self._room.sid
        self._room_started_at = self._room.creation_time.timestamp()

    async def _backlog(self) -> list[dict[str, Any]]:
        """The meeting's finals so far: from the store, else from memory."""
        if self._record is not None:
            try:
                meeting = await self._room.sid
                stored = await asyncio.to_thread(
                    self._record.segments, self._room.name, meeting=meeting
                )
                return [protocol.backlog_entry(s) for s in stored if s.text]
            except Exception as e:  # this captioner's own finals still go out
                log.warning("transcript store unreadable, backlog from memory: %s", e)
        return [protocol.backlog_entry(s) for s in self.transcript.segments()]

    async def _send_backlog(self, identity: str) -> None:
        """The transcript so far, to ``identity`` alone (a late joiner)."""
        backlog = await self._backlog()
        if not backlog:
            return
        segments = len(backlog)
        payload = json.dumps(backlog, ensure_ascii=False)
        try:
            async with asyncio.timeout(BACKLOG_TIMEOUT_S):
                writer = await self._room.local_participant.stream_text(
                    destination_identities=[identity], topic=protocol.BACKLOG_TOPIC
                )
                try:
                    await writer.write(payload)
                finally:
                    await writer.aclose()  # else its native handle stays
        except Exception as e:  # they still get live captions
            log.warning("could not send the backlog to %s: %s", identity, e)
            return
        log.info("sent %s the backlog: %d segment(s)", identity, segments)

    def _close_pipeline(self, track_sid: str) -> None:
        if self._waiting.pop(track_sid, None) is not None:
            self._waiting_changed()
        pipeline = self._pipelines.pop(track_sid, None)
        if pipeline is None:
            return
        task = asyncio.create_task(pipeline.aclose(), name=f"close {track_sid}")
        self._closing.add(task)
        task.add_done_callback(self._closed_pipeline)

    def _closed_pipeline(self, task: asyncio.Task[None]) -> None:
        self._closing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("closing a caption pipeline failed", exc_info=task.exception())
        self._capacity.released()  # this room's waiting tracks too

    def _retry_waiting(self) -> None:
        """A stream may be free: start the tracks that found the engine full."""
        for sid, (track, publication, participant) in list(self._waiting.items()):
            if self._closed:
                return
            if publication.track is track and publication.subscribed:
                self._on_track_subscribed(track, publication, participant)  # may wait on
            else:
                del self._waiting[sid]
        self._waiting_changed()

    def _waiting_changed(self) -> None:
        """Keep :data:`~roomscribe.protocol.ATTR_WAITING` current."""
        if self._closed:
            return
        if self._waiting_sync is None or self._waiting_sync.done():
            self._waiting_sync = asyncio.create_task(self._sync_waiting(), name="waiting attribute")

    def _waiting_value(self) -> str:
        return " ".join(sorted(self._waiting))

    async def _sync_waiting(self) -> None:
        """Set :data:`~roomscribe.protocol.ATTR_WAITING` until it matches the waiting
        tracks (one update at a time, so the last one sent is the latest)."""
        while (value := self._waiting_value()) != self._waiting_sent:
            try:
                async with asyncio.timeout(HEARING_TIMEOUT_S):
                    # "" deletes the attribute: nobody waits
                    await self._room.local_participant.set_attributes(
                        {protocol.ATTR_WAITING: value}
                    )
            except Exception as e:  # the next change tries again
                log.warning("could not tell the room which tracks wait: %s", e)
                return
            self._waiting_sent = value
