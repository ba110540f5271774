"""The web client's own guards: forged captions are not shown; the passcode form.

Real stack without a model: livekit-server and ``roomscribe serve``, Ada in
Chromium. A forger's token (not one from ``/api/token``) grants data
publishing, so livekit-server lets its ``lk.transcription`` streams through and
only the web client's own check stands between them and Ada's screen. An
agent-kind participant then captions Ada legitimately, on her behalf, as the
roomscribe agent does.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import pytest
from livekit import rtc

from roomscribe import protocol
from roomscribe.server.token import JoinRequest, mint_token
from roomscribe.settings.livekit import LiveKitSettings
from tests.browser import checks
from tests.browser.conftest import FakeMic, ServeFactory, run_session
from tests.browser.held import HeldSession
from tests.fixtures.livekit import LiveKitServer
from tests.livekit.participants import (
    connect_with,
    custom_token,
    poll_until,
    send_caption,
    send_legacy_caption,
)

pytestmark = [pytest.mark.browser, pytest.mark.livekit]

PASSCODE = "correct horse battery"


@pytest.fixture(scope="module")
def server_url(livekit_server: LiveKitServer, roomscribe_serve: ServeFactory) -> str:
    # No agent worker: the captions here are sent by hand.
    return roomscribe_serve(livekit=livekit_server)


@pytest.fixture
async def rooms() -> AsyncIterator[list[rtc.Room]]:
    """Python participants of a test; they leave at its end."""
    joined: list[rtc.Room] = []
    yield joined
    for room in joined:
        await room.disconnect()


async def microphone_of(observer: rtc.Room, name: str) -> tuple[str, str]:
    """``(identity, mic track sid)`` of the participant called ``name``."""

    def find() -> tuple[str, str] | None:
        for p in observer.remote_participants.values():
            for pub in p.track_publications.values():
                if p.name == name and pub.source == rtc.TrackSource.SOURCE_MICROPHONE:
                    return p.identity, pub.sid
        return None

    assert await poll_until(lambda: find() is not None, 20), f"{name} published no microphone"
    found = find()
    assert found is not None
    return found


async def test_forged_captions_are_not_shown_but_an_agents_are(
    server_url: str,
    livekit_server: LiveKitServer,
    fake_mic: FakeMic,
    rooms: list[rtc.Room],
) -> None:
    room = f"forged-{secrets.token_hex(3)}"
    # Both are in the room before Ada, so her page knows them (and their rights)
    # from its join on: every refusal below is the client's rights check.
    forger_token = custom_token(livekit_server, room, "mallory", can_publish_data=True)
    forger = await connect_with(livekit_server, forger_token, subscribe=False)
    rooms.append(forger)
    agent_token = custom_token(
        livekit_server, room, protocol.AGENT_IDENTITY, can_publish_data=True, kind="agent"
    )
    agent = await connect_with(livekit_server, agent_token, subscribe=False)
    rooms.append(agent)
    # A guest with the token /api/token gives (no data rights): the SFU drops its streams.
    settings = LiveKitSettings(
        url=livekit_server.url,
        api_key=livekit_server.api_key,
        api_secret=livekit_server.api_secret,
    )
    guest_token = mint_token(
        settings, JoinRequest(room=room, name="Guest", identity="guest-1"), dispatch_agent=False
    )
    guest = await connect_with(livekit_server, guest_token, subscribe=False)
    rooms.append(guest)
    participants = [{"name": "Ada", "audio": str(fake_mic.silence)}]
    async with HeldSession({"url": server_url, "room": room, "participants": participants}) as ada:
        ada_identity, mic = await microphone_of(forger, "Ada")

        tag = secrets.token_hex(2)
        # In Ada's name (the SFU replaces the name with mallory's), and as mallory.
        await send_caption(forger, f"forged for Ada {tag}", track_id=mic, on_behalf_of=ada_identity)
        await send_caption(forger, f"forged about Ada {tag}", track_id=mic)
        await send_legacy_caption(forger, f"forged legacy {tag}", about=ada_identity, track_id=mic)
        for guest_send in (
            send_caption(
                guest, f"forged by a guest {tag}", track_id=mic, on_behalf_of=ada_identity
            ),
            send_caption(guest, f"forged by a guest as itself {tag}", track_id=mic),
            send_legacy_caption(
                guest, f"forged guest legacy {tag}", about=ada_identity, track_id=mic
            ),
        ):
            with contextlib.suppress(Exception):  # the SDK may refuse locally; either way
                await guest_send
        legit = f"relayed by the agent {tag}"
        await send_caption(agent, legit, track_id=mic, on_behalf_of=ada_identity)

        report = await ada.report_when(text=legit, ignored=2, timeout_ms=20_000)

    page = checks.participant(report, "Ada")
    checks.connected_without_errors(page)
    shown = [c["text"] for c in page["captions"]] + [e["text"] for e in page["transcript"]]
    assert not [t for t in shown if "forged" in t], shown
    assert [(c["speaker"], c["text"], c["final"]) for c in page["captions"]] == [
        ("Ada", legit, True)
    ]
    # Both forged streams did reach the page, and were refused there.
    assert len(page["ignoredStreams"]) == 2, page["ignoredStreams"]
    for line in page["ignoredStreams"]:
        assert '"mallory"' in line
        assert "may publish data" in line


def _refusal(url: str, room: str, passcode: str) -> str:
    request = urllib.request.Request(
        f"{url}api/token",
        data=json.dumps({"room": room, "name": "Probe", "passcode": passcode}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    detail: str = json.loads(refused.value.read())["detail"]
    return detail


def test_passcode_form_shows_the_refusal_then_joins_and_keeps_it_for_the_tab_only(
    roomscribe_serve: ServeFactory, livekit_server: LiveKitServer, fake_mic: FakeMic
) -> None:
    url = roomscribe_serve("--passcode", PASSCODE, livekit=livekit_server)
    room = f"passcode-{secrets.token_hex(3)}"
    carol = {
        "name": "Carol",
        "audio": str(fake_mic.silence),
        "passcode": "wrong guess",
        "retryPasscode": PASSCODE,
    }
    report = run_session({"url": url, "room": room, "joinOnly": True, "participants": [carol]})
    page = checks.participant(report, "Carol")

    first = page["firstAttempt"]
    assert first["passcodeVisible"]
    assert first["error"] == _refusal(url, room, "wrong guess")
    assert first["joinFormVisible"]
    assert first["status"] != "connected"
    assert first["passcodeFocused"]
    assert PASSCODE not in first["storage"]["session"].values()

    checks.connected_without_errors(page)
    assert page["storage"]["session"].get("roomscribe.passcode") == PASSCODE
    assert PASSCODE not in page["storage"]["local"].values()
    assert "wrong guess" not in page["storage"]["local"].values()


def test_no_passcode_field_when_none_is_required(server_url: str, fake_mic: FakeMic) -> None:
    report = run_session(
        {
            "url": server_url,
            "room": f"open-{secrets.token_hex(3)}",
            "joinOnly": True,
            "participants": [{"name": "Dan", "audio": str(fake_mic.silence)}],
        }
    )
    page = checks.participant(report, "Dan")
    checks.connected_without_errors(page)
    assert page["passcodeVisible"] is False
    assert page["storage"]["session"] == {}
