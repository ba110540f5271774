"""Wire names shared by every transport and by the web client.

Everything that crosses a process boundary is named here, once:

* **LiveKit transcription protocol** (what LiveKit's own front ends understand):
  every caption update is a text stream on topic :data:`TRANSCRIPTION_TOPIC`,
  sent with ``sender_identity`` = the participant who spoke and the attributes
  :data:`ATTR_SEGMENT_ID`, :data:`ATTR_TRACK_ID` and :data:`ATTR_FINAL`
  (``"true"``/``"false"``). The payload is the segment's full current text.
  roomscribe adds :data:`ATTR_LANGUAGE`, :data:`ATTR_START` and :data:`ATTR_END`.
  A *revision* of a final segment (the revision pass re-decoded it with more
  context) is a new text stream with the same :data:`ATTR_SEGMENT_ID`,
  :data:`ATTR_FINAL` ``"true"`` and :data:`ATTR_REVISION` ``"1"``, ``"2"``...:
  clients that replace text by segment id show the revised text unchanged.
  A room whose metadata sets :data:`METADATA_TRANSCRIPTION_FORMAT` to
  :data:`FORMAT_JSON` gets the payload as livekit-agents writes it with its
  ``json_format`` text-output option (one JSON ``TimedString`` per line, with
  word times: :func:`timed_strings`) and the stream attribute :data:`ATTR_FORMAT`.
  A *translation* of a final (see :mod:`roomscribe.asr.translation`) is a text
  stream of its own, sent only to the listeners who asked for it, with
  :data:`ATTR_TRANSLATION_OF` = the original's segment id and a segment id of
  its own (:func:`translation_segment_id`), so the original is never replaced.
* **Participant attributes**: :data:`ATTR_SPOKEN_LANGUAGE` and
  :data:`ATTR_TRANSLATE_TO` (set by the server for the web client, see
  ``POST /api/language`` and ``POST /api/translation``); the captioner's
  :data:`ATTR_HEARTBEAT` and :data:`ATTR_WAITING`.
* **Embedded mode** (aiortc, no LiveKit server): captions travel on an
  RTCDataChannel labelled :data:`DATA_CHANNEL_LABEL` as JSON objects built by
  :func:`caption_message`, with the same field names the web client reads from
  LiveKit text streams.

The web client mirrors these names in ``web-client/src/protocol.ts``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

from roomscribe.asr.events import Caption, Word

AGENT_NAME = "roomscribe"
"""``agent_name`` of the livekit-agents worker (explicit dispatch only)."""

AGENT_IDENTITY = "roomscribe-captions"
"""Identity the agent joins every room with; one captioner per room."""

WORKERS_ROOM = "roomscribe-workers"
"""LiveKit room where every ``roomscribe agent`` worker is a participant (identity
``roomscribe-worker-<id>``) and beats once a second with the
:data:`ATTR_HEARTBEAT` and :data:`ATTR_ROOMS` attributes, so the workers see
each other die within seconds without polling every room
(:mod:`roomscribe.livekit.roster`). Never captioned."""

ATTR_ROOMS = "roomscribe.rooms"
"""Worker attribute in :data:`WORKERS_ROOM`: the rooms it captions, comma-separated."""

ATTR_WORKER = "roomscribe.worker"
"""Captioner attribute: the identity in :data:`WORKERS_ROOM` of the worker running
it, so a worker that heals a dead worker's rooms never removes a newer captioner."""

TRANSCRIPTION_TOPIC = "lk.transcription"
ATTR_SEGMENT_ID = "lk.segment_id"
ATTR_TRACK_ID = "lk.transcribed_track_id"
ATTR_FINAL = "lk.transcription_final"
ATTR_LANGUAGE = "roomscribe.language"
ATTR_START = "roomscribe.start"
ATTR_END = "roomscribe.end"
ATTR_REVISION = "roomscribe.revision"
"""Text-stream attribute of a revised final: the revision number (absent on live captions)."""
ATTR_FORMAT = "roomscribe.format"
"""Text-stream attribute: :data:`FORMAT_JSON` when the payload is :func:`timed_strings`
(absent: the payload is the plain text)."""
FORMAT_JSON = "json"

METADATA_TRANSCRIPTION_FORMAT = "roomscribe.transcription_format"
"""Key of the room metadata (a JSON object): :data:`FORMAT_JSON` makes the room's
``lk.transcription`` payloads :func:`timed_strings`; anything else, or absent, plain text.
Per room, so rooms whose front ends read plain text are not affected."""

ATTR_SPOKEN_LANGUAGE = "roomscribe.spoken_language"
"""Participant attribute: language code the participant speaks, or ``auto``."""

ATTR_TRANSLATE_TO = "roomscribe.translate_to"
"""Participant attribute of a listener: the language they also want captions in
(``en``; absent or empty: the originals only). While any participant of the
room has it, the captioner translates every final in another language."""

ATTR_TRANSLATION_OF = "roomscribe.translation_of"
"""Text-stream attribute of a translated final: the ``lk.segment_id`` of the
original it translates (absent on originals); ``roomscribe.language`` is the
translation's language."""

ATTR_HEARTBEAT = "roomscribe.heartbeat"
"""Participant attribute the captioner renews every 5 seconds; when it stops
changing, pages know the captioner's worker died long before LiveKit drops the
participant (about 20 s). Workers renew theirs in :data:`WORKERS_ROOM` every second."""

ATTR_WAITING = "roomscribe.waiting"
"""Participant attribute of the captioner: the sids of the room's audio tracks it
would caption but cannot yet, because every engine stream of its worker is in use,
separated by spaces (absent: none wait). A track leaves the list once captioned
(then :data:`HEARING_TOPIC` tells its owner) or gone."""

BACKLOG_TOPIC = "roomscribe.backlog"
"""Text stream from the agent to one late joiner alone (``destination_identities``):
a JSON list of the room's final segments so far (revised text), oldest first,
each built by :func:`backlog_entry`."""

HEARING_TOPIC = "roomscribe.hearing"
"""Reliable data packet from the agent to one participant alone
(``destination_identities``) once it captions one of their audio tracks;
payload: that track's sid (UTF-8). Speech before it is lost (LiveKit does not
buffer audio for a late subscriber), so the web client shows captions as
starting until the captioner hears its microphone."""

METADATA_VOCABULARY = "roomscribe.vocabulary"
"""Key of the room metadata (a JSON object) holding the room's vocabulary terms."""

TAB_AUDIO_TRACK_NAME = "roomscribe-tab-audio"
"""Track name the web client gives a shared browser tab's audio."""

DATA_CHANNEL_LABEL = "captions"
MESSAGE_CAPTION = "caption"
MESSAGE_ERROR = "error"
MESSAGE_HELLO = "hello"


def caption_attributes(caption: Caption, track_id: str, *, timed: bool = False) -> dict[str, str]:
    """Text-stream attributes for one caption update (all values are strings);
    ``timed``: the payload is :func:`timed_strings`."""
    attrs = {
        ATTR_SEGMENT_ID: caption.segment_id,
        ATTR_TRACK_ID: track_id,
        ATTR_FINAL: "true" if caption.final else "false",
        ATTR_START: f"{caption.start:.3f}",
        ATTR_END: f"{caption.end:.3f}",
    }
    if caption.language:
        attrs[ATTR_LANGUAGE] = caption.language
    if caption.revision:
        attrs[ATTR_REVISION] = str(caption.revision)
    if caption.translation:
        attrs[ATTR_SEGMENT_ID] = translation_segment_id(caption.segment_id, caption.language)
        attrs[ATTR_TRANSLATION_OF] = caption.segment_id
    if timed:
        attrs[ATTR_FORMAT] = FORMAT_JSON
    return attrs


def wants_timed_strings(room_metadata: str) -> bool:
    """Whether a room's metadata asks for :func:`timed_strings` payloads
    (:data:`METADATA_TRANSCRIPTION_FORMAT`); metadata that is not a JSON object does not."""
    try:
        obj = json.loads(room_metadata) if room_metadata.strip() else {}
    except ValueError:
        return False
    return isinstance(obj, dict) and obj.get(METADATA_TRANSCRIPTION_FORMAT) == FORMAT_JSON


def timed_strings(caption: Caption) -> str:
    """The caption as livekit-agents' ``json_format`` transcription payload.

    One JSON object per line, each a ``TimedString`` (livekit protocol
    ``agent_session.proto``, proto field names): ``text``, ``start_time`` and
    ``end_time`` in seconds since the stream started (as :data:`ATTR_START`),
    and ``confidence``. One line per word, so the ``text`` fields joined give
    :attr:`Caption.text`; one line for the whole segment when its words do not
    spell its text.
    """
    lines = [
        {
            "text": w.text,
            "start_time": round(w.start, 3),
            "end_time": round(w.end, 3),
            "confidence": round(w.probability, 3),
        }
        for w in caption.words
    ]
    if lines:
        lines[0]["text"] = str(lines[0]["text"]).lstrip()
        lines[-1]["text"] = str(lines[-1]["text"]).rstrip()
    if "".join(str(line["text"]) for line in lines) != caption.text:
        start, end = round(caption.start, 3), round(caption.end, 3)
        lines = [{"text": caption.text, "start_time": start, "end_time": end}]
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def translation_segment_id(segment_id: str, language: str | None) -> str:
    """The ``lk.segment_id`` of a segment's translation: never the original's, so a
    front end that replaces text by segment id keeps both."""
    return f"{segment_id}~{language or ''}"


def caption_message(caption: Caption, *, speaker: str, track_id: str) -> dict[str, Any]:
    """JSON object for one caption update on the embedded-mode data channel."""
    return {
        "type": MESSAGE_CAPTION,
        "segment_id": caption.segment_id,
        "text": caption.text,
        "final": caption.final,
        "speaker": speaker,
        "track_id": track_id,
        "start": round(caption.start, 3),
        "end": round(caption.end, 3),
        "language": caption.language,
        "revision": caption.revision,
        "words": word_records(caption.words),
    }


class BacklogSegment(Protocol):
    """A final segment as the record keeps it (in memory or in the store)."""

    @property
    def speaker(self) -> str: ...
    @property
    def speaker_name(self) -> str: ...
    @property
    def track_id(self) -> str: ...
    @property
    def segment_id(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def language(self) -> str | None: ...
    @property
    def revision(self) -> int: ...


def backlog_entry(segment: BacklogSegment) -> dict[str, Any]:
    """One segment of a :data:`BACKLOG_TOPIC` list: speaker identity and display
    name, track, segment id, latest text, track-relative times, language, revision."""
    return {
        "speaker": segment.speaker,
        "speaker_name": segment.speaker_name,
        "track_id": segment.track_id,
        "segment_id": segment.segment_id,
        "text": segment.text,
        "start": round(segment.start, 3),
        "end": round(segment.end, 3),
        "language": segment.language,
        "revision": segment.revision,
    }


def word_records(words: Iterable[Word]) -> list[dict[str, Any]]:
    """Words as JSON objects (``start``, ``end``, ``text``, ``probability``)."""
    return [
        {
            "start": round(w.start, 3),
            "end": round(w.end, 3),
            "text": w.text,
            "probability": round(w.probability, 3),
        }
        for w in words
    ]
