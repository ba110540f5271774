"""End-to-end encrypted rooms: captioned for whoever holds the key, for nobody else.

One run serves every check. Room A (its own livekit-server, a worker with
``ROOMSCRIBE_E2EE_KEY``, ``roomscribe serve``): Chromium "Eve" joins without a
key (silence), Chromium "Ada" with the key in the link (``#key=``) and speaks,
Chromium "Wes" with a wrong key (no microphone);
meanwhile a Python participant without the key listens to room A as the SFU
could (text streams and legacy transcription packets). Room B (a second server,
a worker holding the wrong key): a Python speaker with the right key talks
into it at the same time.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from livekit import rtc

from roomscribe.livekit.encryption import SharedKey, room_encryption
from roomscribe.server.token import JoinRequest, mint_token
from tests.browser import checks
from tests.browser.conftest import FakeMic, ServeFactory, run_session
from tests.browser.scoring import windowed_wer
from tests.conftest import read_wav
from tests.fixtures.livekit import (
    AgentWorker,
    LiveKitServer,
    running_agent,
    running_livekit_server,
)
from tests.livekit.participants import Listener, Speaker, captioners, poll_until, settings_of

pytestmark = [pytest.mark.browser, pytest.mark.livekit]

KEY = "correct horse battery staple"
WRONG_KEY = "not the room's key"
NEEDS_KEY = "This room is end-to-end encrypted"
"""The start of what a page without the key says (web-client/src/room-key.ts)."""
CANNOT_DECRYPT = "Cannot decrypt Ada's audio and captions with your room key"
"""The start of what a page with a wrong key says (``DecryptionWatch`` there)."""
WORDS = 10
"""Final words Ada's page must show before she stops talking: enough to score, few to wait for."""
SANE_WER = 0.25
SPEECH_S = 10.0
"""How long the Python speaker talks into room B."""


@dataclass(frozen=True, slots=True)
class Room:
    server: LiveKitServer
    worker: AgentWorker
    name: str


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[Room]:
    """Room A: a server of its own and a worker holding the room's key."""
    tmp = tmp_path_factory.mktemp("e2ee-a")
    with (
        running_livekit_server(tmp) as server,
        running_agent(
            server, artifacts_dir / "e2ee-agent.log", env={"ROOMSCRIBE_E2EE_KEY": KEY}
        ) as worker,
    ):
        yield Room(server, worker, f"e2ee-{secrets.token_hex(3)}")


@pytest.fixture(scope="module")
def wrong_keyed(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[Room]:
    """Room B: a server of its own and a worker holding the wrong key."""
    tmp = tmp_path_factory.mktemp("e2ee-b")
    with (
        running_livekit_server(tmp) as server,
        running_agent(
            server,
            artifacts_dir / "e2ee-wrong-key-agent.log",
            env={"ROOMSCRIBE_E2EE_KEY": WRONG_KEY},
        ) as worker,
    ):
        yield Room(server, worker, f"e2ee-wrong-{secrets.token_hex(3)}")


@dataclass(frozen=True, slots=True)
class Outside:
    """What the Python participants saw."""

    eavesdropper: Listener
    """Room A, without the key."""
    wrong_room: Listener
    """Room B, on the speaker's own (keyed) connection."""


async def _outside(a: Room, b: Room, speech: Any, browsers_done: threading.Event) -> Outside:
    # Room B: a key holder speaks; the captioner holds the wrong key.
    sam_room = rtc.Room()
    token = mint_token(
        settings_of(b.server),
        JoinRequest(room=b.name, name="Sam", identity="sam"),
        dispatch_agent=True,
    )
    options = rtc.RoomOptions(
        auto_subscribe=False, encryption=room_encryption(SharedKey(KEY), b.name)
    )
    await sam_room.connect(b.server.url, token, options)
    wrong_room = Listener(sam_room)
    wrong_room.start()
    sam = Speaker(sam_room)
    await sam.publish()
    await sam.wait_subscribed(30)

    # Room A: listen without the key once the captioner is in (Ada's join dispatches it).
    for _ in range(300):
        if await captioners(a.server, a.name) > 0:
            break
        await asyncio.sleep(0.2)
    eve_room = rtc.Room()
    token = mint_token(
        settings_of(a.server),
        JoinRequest(room=a.name, name="Mallory", identity="mallory"),
        dispatch_agent=False,
    )
    await eve_room.connect(a.server.url, token, rtc.RoomOptions(auto_subscribe=False))
    eavesdropper = Listener(eve_room)
    eavesdropper.start()

    await sam.play(speech, time.monotonic())
    await asyncio.to_thread(browsers_done.wait, 150)
    await poll_until(lambda: False, 2.0)  # the last captions of room A land
    await eavesdropper.aclose()
    await wrong_room.aclose()
    await sam.source.aclose()
    return Outside(eavesdropper, wrong_room)


@pytest.fixture(scope="module")
def run(
    keyed: Room,
    wrong_keyed: Room,
    roomscribe_serve: ServeFactory,
    fake_mic: FakeMic,
    eval_dir: Path,
) -> Iterator[tuple[dict[str, Any], Outside]]:
    url = roomscribe_serve(livekit=keyed.server)
    speech = read_wav(eval_dir / "allison-a.wav")[: int(SPEECH_S * 16_000)]
    done = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        outside = pool.submit(asyncio.run, _outside(keyed, wrong_keyed, speech, done))
        try:
            report = run_session(
                {
                    "url": url,
                    "room": keyed.name,
                    "participants": [
                        {"name": "Eve", "audio": str(fake_mic.silence)},
                        {
                            "name": "Ada",
                            "audio": str(fake_mic.speech),
                            "speaker": True,
                            "roomKey": KEY,
                            "keyInLink": True,
                        },
                        # no mic: her audio would not decrypt for Ada either
                        {"name": "Wes", "denyMic": True, "roomKey": WRONG_KEY},
                    ],
                    "minFinalWords": WORDS,
                    "timeoutMs": 60_000,
                    # Ada's join page (the room key field filled from the link, its
                    # hint) and her call page in the encrypted room, captions flowing
                    "axe": ["join", "call"],
                }
            )
        finally:
            done.set()
        yield report, outside.result(timeout=60)


def _finals_published(worker: AgentWorker) -> float:
    url = f"http://127.0.0.1:{worker.health_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    found = re.search(r"^roomscribe_finals_total (\S+)$", text, re.M)
    assert found is not None, text
    return float(found.group(1))


def test_an_encrypted_room_is_captioned_for_key_holders(
    run: tuple[dict[str, Any], Outside], keyed: Room, fake_mic: FakeMic
) -> None:
    report, _ = run
    ada = checks.participant(report, "Ada")
    checks.connected_without_errors(ada)
    assert {e["speaker"] for e in ada["transcript"]} == {"Ada"}, ada["transcript"]
    assert ada["captions"], "no live captions on screen"
    # Sane text, not a quality bar (test_livekit_call.py measures that): the first
    # words may be lost while the captioner subscribes to Ada's encrypted track.
    score = windowed_wer(fake_mic.reference, " ".join(e["text"] for e in ada["transcript"]))
    assert score.hyp_words >= WORDS, score
    assert score.wer <= SANE_WER, score
    assert "key=" not in ada["address"], "the key stayed in the address bar"
    assert f"room {keyed.name}: end-to-end encrypted" in keyed.worker.log_text()


def test_the_room_key_field_and_the_encrypted_call_pass_axe(
    run: tuple[dict[str, Any], Outside], artifacts_dir: Path
) -> None:
    report, _ = run
    (artifacts_dir / "axe-e2ee.json").write_text(json.dumps(report["axe"], indent=2) + "\n")
    checks.no_serious_accessibility_violations(report["axe"], {"join", "call"})


def test_a_page_without_the_key_reads_no_captions_and_is_told_why(
    run: tuple[dict[str, Any], Outside],
) -> None:
    report, _ = run
    assert checks.participant(report, "Ada")["transcript"], "no captions at all"
    eve = checks.participant(report, "Eve")
    assert eve["status"] == "connected", eve
    assert eve["transcript"] == [], eve["transcript"]
    assert eve["captions"] == [], eve["captions"]
    assert eve["error"].startswith(NEEDS_KEY), eve["error"]


def test_a_page_with_the_wrong_key_reads_no_captions_and_is_told_why(
    run: tuple[dict[str, Any], Outside],
) -> None:
    report, _ = run
    wes = checks.participant(report, "Wes")
    assert wes["status"] == "connected", wes
    assert wes["transcript"] == [], wes["transcript"]
    assert wes["captions"] == [], wes["captions"]
    # said once (her denied microphone may be said after it)
    said = [e for e in wes["errorsShown"] if e.startswith(CANNOT_DECRYPT)]
    assert len(said) == 1, (wes["errorsShown"], wes["consoleErrors"][:5])


def test_the_sfu_forwards_no_readable_caption(
    run: tuple[dict[str, Any], Outside], keyed: Room
) -> None:
    # A participant without the key receives what the SFU forwards: no caption
    # stream opens (its header, attributes and text are sealed) and no legacy
    # transcription packet (never encrypted by the SDKs, so never sent here).
    _, outside = run
    assert _finals_published(keyed.worker) >= 3
    assert outside.eavesdropper.captions == []
    assert outside.eavesdropper.aborted == []
    assert outside.eavesdropper.legacy_finals == 0


def test_a_captioner_with_the_wrong_key_captions_nothing_and_says_why(
    run: tuple[dict[str, Any], Outside], wrong_keyed: Room
) -> None:
    _, outside = run
    log = wrong_keyed.worker.log_text()
    assert wrong_keyed.worker.serves(wrong_keyed.name), log
    why = [line for line in log.splitlines() if "cannot decrypt the audio of sam" in line]
    assert len(why) == 1, log
    assert "ROOMSCRIBE_E2EE_KEY" in why[0]
    assert _finals_published(wrong_keyed.worker) == 0
    assert outside.wrong_room.captions == []
