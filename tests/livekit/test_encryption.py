"""The captioner's ``DecryptionWatch``: a participant whose audio does not decrypt is
logged once, with what to check; one whose audio decrypts, or who is muted, is not.

A scripted room (the SDK's own event emitter): the wrong-key run in
``tests/browser/test_encrypted_room.py`` shows the same line from a real worker.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from livekit import rtc

from roomscribe.livekit.encryption import DecryptionWatch, SharedKey, room_encryption

WAIT_S = 0.05
WHY = "check that ROOMSCRIBE_E2EE_KEY is the room's key"


@dataclass
class FakeParticipant:
    identity: str


@dataclass
class FakeTrack:
    kind: rtc.TrackKind.ValueType = rtc.TrackKind.KIND_AUDIO


@dataclass
class FakePublication:
    encryption_type: rtc.EncryptionType.ValueType = rtc.EncryptionType.GCM
    muted: bool = False


@dataclass
class FakeRoom(rtc.EventEmitter[str]):
    name: str = "e2ee"
    remote_participants: dict[str, FakeParticipant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def join(self, identity: str, publication: FakePublication | None = None) -> None:
        """``identity`` is in the room and we subscribed to its (encrypted) audio."""
        participant = FakeParticipant(identity)
        self.remote_participants[identity] = participant
        self.emit("track_subscribed", FakeTrack(), publication or FakePublication(), participant)


def unreadable(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "cannot decrypt the audio" in r.getMessage()]


@pytest.fixture
def room(caplog: pytest.LogCaptureFixture) -> Any:
    caplog.set_level(logging.ERROR, logger="roomscribe.livekit.encryption")
    return FakeRoom()


async def test_a_failed_decryption_is_reported_once_per_participant(
    room: Any, caplog: pytest.LogCaptureFixture
) -> None:
    watch = DecryptionWatch(room, wait_s=WAIT_S)
    watch.start()
    sam, ada = FakeParticipant("sam"), FakeParticipant("ada")
    for _ in range(3):  # the SDK repeats the state: one line each still
        room.emit("e2ee_state_changed", sam, rtc.EncryptionState.DECRYPTION_FAILED)
    room.emit("e2ee_state_changed", ada, rtc.EncryptionState.MISSING_KEY)
    room.emit("e2ee_state_changed", None, rtc.EncryptionState.DECRYPTION_FAILED)  # our own
    watch.aclose()
    lines = unreadable(caplog)
    assert len(lines) == 2, lines
    assert "of sam (its audio does not decrypt with our key)" in lines[0]
    assert "of ada (we hold no key for its audio)" in lines[1]
    assert all(line.startswith("room e2ee:") and WHY in line for line in lines)


async def test_encrypted_audio_that_never_decrypts_is_reported_after_the_wait(
    room: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # livekit 1.1 often says nothing at all with a wrong key: silence is the only sign
    watch = DecryptionWatch(room, wait_s=WAIT_S)
    watch.start()
    room.join("sam")
    room.join("ada")
    room.emit("e2ee_state_changed", room.remote_participants["ada"], rtc.EncryptionState.OK)
    room.join("muted", FakePublication(muted=True))  # nothing to decrypt yet
    room.join("plain", FakePublication(encryption_type=rtc.EncryptionType.NONE))
    room.join("gone")
    del room.remote_participants["gone"]
    await asyncio.sleep(WAIT_S * 4)
    watch.aclose()
    lines = unreadable(caplog)
    assert len(lines) == 1, lines
    assert "of sam (none of its audio decrypted in 0 s)" in lines[0], lines


async def test_a_closed_watch_reports_nothing(room: Any, caplog: pytest.LogCaptureFixture) -> None:
    watch = DecryptionWatch(room, wait_s=WAIT_S)
    watch.start()
    room.join("sam")
    watch.aclose()
    room.emit("e2ee_state_changed", FakeParticipant("ada"), rtc.EncryptionState.DECRYPTION_FAILED)
    await asyncio.sleep(WAIT_S * 4)
    assert unreadable(caplog) == []


def test_the_key_is_the_shared_string_and_never_printed() -> None:
    options = room_encryption(SharedKey("correct horse"), "any-room")
    assert options is not None
    assert options.key_provider_options.shared_key == b"correct horse"
    assert room_encryption(None, "any-room") is None
    assert "correct" not in repr(SharedKey("correct horse"))
    with pytest.raises(ValueError, match="empty"):
        SharedKey("")
