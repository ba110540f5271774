"""End-to-end encrypted rooms: the captioner as a trusted participant that holds the key.

In an E2EE room the SFU forwards audio it cannot decode. A captioner given the
room's key (:class:`SharedKey`, from ``ROOMSCRIBE_E2EE_KEY``, or any
:class:`KeyProvider` an operator plugs in) joins with it, decrypts the audio it
captions and sends its captions encrypted with the same key: livekit-agents'
``JobContext.connect(encryption=...)`` turns on the SDK's data-channel
encryption, which seals every text stream (header, attributes and text) and
data packet. Two things stay readable by the SFU, by LiveKit's design:
participant attributes (the captioner's heartbeat, its worker, the tracks
waiting for a stream: no caption text) and legacy ``publish_transcription``
packets, which the SDKs never encrypt, so the worker does not send those in
an encrypted room (:meth:`roomscribe.livekit.publisher.PublisherOptions`).

The key is the one livekit-client's ``ExternalE2EEKeyProvider.setKey(key)``
takes: the same UTF-8 string, stretched by both SDKs with PBKDF2 and LiveKit's
default salt.

A wrong key cannot be told from a right one at join (nothing is exchanged); it
shows as audio that fails to decrypt, which :class:`DecryptionWatch` logs once
per participant, in one line that says what to check.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from livekit import rtc

log = logging.getLogger(__name__)


class KeyProvider(Protocol):
    """Where a captioner gets a room's end-to-end encryption key."""

    def key_for(self, room: str) -> bytes | None:
        """The shared key of ``room``, or ``None``: the room is not encrypted."""
        ...


@dataclass(frozen=True, slots=True)
class SharedKey:
    """One key for every room (``ROOMSCRIBE_E2EE_KEY``)."""

    key: str

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("an empty end-to-end encryption key")

    def key_for(self, room: str) -> bytes | None:
        return self.key.encode()

    def __repr__(self) -> str:  # never print the key
        return "SharedKey(***)"


def room_encryption(provider: KeyProvider | None, room: str) -> rtc.E2EEOptions | None:
    """The SDK options that make a captioner of ``room`` decrypt and encrypt, or ``None``."""
    key = provider.key_for(room) if provider is not None else None
    if key is None:
        return None
    return rtc.E2EEOptions(key_provider_options=rtc.KeyProviderOptions(shared_key=key))


_UNREADABLE = {
    rtc.EncryptionState.DECRYPTION_FAILED: "its audio does not decrypt with our key",
    rtc.EncryptionState.MISSING_KEY: "we hold no key for its audio",
}

DECRYPT_WAIT_S = 5.0
"""An encrypted, unmuted track none of whose frames decrypted this long after subscribing
is reported: the SDK reports the first good frame (``OK``) but, with a wrong key, often
nothing at all (livekit 1.1)."""


class DecryptionWatch:
    """Logs, once per participant, that their encrypted audio cannot be decrypted.

    That audio decodes to silence: the room gets no captions, so the reason
    must be in the worker's log. ``start()`` / ``aclose()``.
    """

    def __init__(self, room: rtc.Room, wait_s: float = DECRYPT_WAIT_S) -> None:
        self._room = room
        self._wait_s = wait_s
        self._decrypted: set[str] = set()
        self._reported: set[str] = set()
        self._timers: list[asyncio.TimerHandle] = []

    def start(self) -> None:
        self._room.on("e2ee_state_changed", self._on_state)
        self._room.on("track_subscribed", self._on_subscribed)

    def aclose(self) -> None:
        self._room.off("e2ee_state_changed", self._on_state)
        self._room.off("track_subscribed", self._on_subscribed)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _on_state(
        self, participant: rtc.Participant | None, state: rtc.EncryptionState.ValueType
    ) -> None:
        if participant is None:
            return
        if state == rtc.EncryptionState.OK:
            self._decrypted.add(participant.identity)
        why = _UNREADABLE.get(state)
        if why is not None:
            self._report(participant.identity, why)

    def _on_subscribed(
        self,
        track: rtc.Track,
        publication: rtc.RemoteTrackPublication,
        participant: rtc.RemoteParticipant,
    ) -> None:
        if track.kind != rtc.TrackKind.KIND_AUDIO:
            return
        if publication.encryption_type == rtc.EncryptionType.NONE:
            return
        loop = asyncio.get_running_loop()
        self._timers.append(
            loop.call_later(self._wait_s, self._check, participant.identity, publication)
        )

    def _check(self, identity: str, publication: rtc.RemoteTrackPublication) -> None:
        if identity in self._decrypted or publication.muted:
            return
        if identity not in self._room.remote_participants:
            return
        self._report(identity, f"none of its audio decrypted in {self._wait_s:.0f} s")

    def _report(self, identity: str, why: str) -> None:
        if identity in self._reported:
            return
        self._reported.add(identity)
        log.error(
            "room %s: cannot decrypt the audio of %s (%s): no captions for them; "
            "check that ROOMSCRIBE_E2EE_KEY is the room's key",
            self._room.name,
            identity,
            why,
        )
