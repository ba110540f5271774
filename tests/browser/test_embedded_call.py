"""One browser against ``roomscribe serve --embedded``: captions over a data channel.

No LiveKit: the page's RTCPeerConnection goes straight to the server (aiortc),
which runs Whisper tiny.en on Chromium's fake microphone (a 25 s cut of
``allison-a.wav``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser import checks
from tests.browser.conftest import FakeMic, ServeFactory, run_session

pytestmark = [pytest.mark.browser, pytest.mark.embedded]


@pytest.fixture(scope="module")
def server_url(roomscribe_serve: ServeFactory) -> str:
    return roomscribe_serve("--embedded", "--model", "tiny.en", "--language", "en")


@pytest.fixture(scope="module")
def call(
    server_url: str,
    fake_mic: FakeMic,
    artifacts_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    return run_session(
        {
            "url": server_url,
            "room": "embedded",
            "participants": [{"name": "Ada", "audio": str(fake_mic.speech), "speaker": True}],
            "minFinalWords": checks.MIN_WORDS,
            "timeoutMs": 90_000,
            "outDir": str(tmp_path_factory.mktemp("downloads")),
            "screenshot": str(artifacts_dir / "captions-embedded.png"),
        }
    )


def test_connected_alone(call: dict[str, Any]) -> None:
    ada = checks.participant(call, "Ada")
    checks.connected_without_errors(ada)
    # the server is the captioner: no separate captioner to watch
    assert (ada["captioner"], ada["captionerStates"]) == ("", [])
    assert ada["participants"] == ["Ada (you)"]
    assert ada["translateVisible"] is False  # no translations in embedded mode


def test_speaking_indicator_shows_own_level(call: dict[str, Any]) -> None:
    assert "Ada (you)" in checks.participant(call, "Ada")["speakersSeen"]


def test_captions_appear_with_display_name(call: dict[str, Any]) -> None:
    checks.captions_by(checks.participant(call, "Ada"), "Ada")


def test_interim_captions_are_replaced_in_place(call: dict[str, Any]) -> None:
    checks.interims_replaced_in_place(checks.participant(call, "Ada"))


def test_screen_readers_hear_each_final_once_with_its_speaker(call: dict[str, Any]) -> None:
    checks.finals_announced_once(checks.participant(call, "Ada"))


def test_downloads_match_final_captions_on_screen(call: dict[str, Any]) -> None:
    ada = checks.participant(call, "Ada")
    checks.txt_matches_screen(ada)
    checks.other_formats_match_screen(ada, "Ada")


def test_transcript_word_error_rate(call: dict[str, Any], fake_mic: FakeMic) -> None:
    checks.word_error_rate_within_bound(checks.participant(call, "Ada"), fake_mic.reference)


def test_denied_microphone_says_why(server_url: str) -> None:
    report = run_session(
        {
            "url": server_url,
            "room": "embedded",
            "joinOnly": True,
            "participants": [{"name": "Carol", "denyMic": True}],
        }
    )
    carol = checks.participant(report, "Carol")
    assert carol["pageErrors"] == []
    assert carol["error"].startswith("Microphone access was denied"), carol["error"]
    assert carol["status"] == "disconnected"  # embedded mode has nothing to show without a mic
    assert carol["joinFormVisible"]
