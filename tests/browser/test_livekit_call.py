"""Two browsers in one LiveKit room: live captions, shared with everyone, and exports.

Real stack: livekit-server, the roomscribe agent (tiny.en) and ``roomscribe serve``.
Chromium's fake microphone plays a 25 s cut of ``allison-a.wav`` for Ada and
silence for Bob.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.browser import checks
from tests.browser.conftest import (
    FIRST_WORD,
    FakeMic,
    ServeFactory,
    first_word_of,
    open_fresh_rooms,
    run_session,
)
from tests.fixtures.livekit import AgentWorker, LiveKitServer

pytestmark = [pytest.mark.browser, pytest.mark.livekit]


@pytest.fixture(scope="module")
def server_url(
    livekit_server: LiveKitServer, agent_worker: AgentWorker, roomscribe_serve: ServeFactory
) -> str:
    return roomscribe_serve(livekit=livekit_server)


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
            "room": f"browser-{secrets.token_hex(3)}",
            # Bob joins first so he is in the room before Ada says anything.
            "participants": [
                {"name": "Bob", "audio": str(fake_mic.silence)},
                {"name": "Ada", "audio": str(fake_mic.speech), "speaker": True, "language": "en"},
            ],
            "minFinalWords": checks.MIN_WORDS,
            "timeoutMs": 90_000,
            "outDir": str(tmp_path_factory.mktemp("downloads")),
            "screenshot": str(artifacts_dir / "captions.png"),
            "axe": True,
        }
    )


# serial: under a parallel run's load the first word was lost (its captioner subscribed
# late). Lost in 3 of 3 fresh-clone runs on 2026-12-07 (evening), alone and in one
# process too ("to the tone" for "After the tone"): issue #32 item 4 is open again,
# and the test keeps running and reporting until it is fixed.
@pytest.mark.serial
@pytest.mark.xfail(reason="first word lost in 3 of 3 runs on 2026-12-07; #32 item 4 reopened")
def test_a_fresh_rooms_first_word_is_captioned(server_url: str, first_word_mic: Path) -> None:
    """Speech from the first instant the mic is live: the room's captioner joins
    after the first person, and the page holds its mic until the captioner hears it."""
    (run,) = open_fresh_rooms(server_url, [f"first-word-{secrets.token_hex(3)}"], first_word_mic)
    assert run["firstFinal"], run
    assert first_word_of(run["firstFinal"]) == FIRST_WORD, run
    # it held: live only after the captioner said it hears the mic ("starting" until then)
    assert run["captionerStates"][:2] == ["starting", "on"], run
    assert run["liveMs"] is not None, run


def test_both_connected_and_see_each_other(call: dict[str, Any]) -> None:
    ada, bob = checks.participant(call, "Ada"), checks.participant(call, "Bob")
    checks.connected_without_errors(ada)
    checks.connected_without_errors(bob)
    assert ada["participants"] == ["Ada (you)", "Bob"]
    assert ada["translateVisible"] is True  # "Also show in": LiveKit mode only
    assert bob["participants"] == ["Bob (you)", "Ada"]


def test_both_see_the_captioner_join(call: dict[str, Any]) -> None:
    # "starting" first: for Bob, who joins the fresh room before its captioner
    # may be in, and for both until the captioner says it hears their
    # microphone (speech before that is lost); then "on" ("interrupted" may
    # flash if this loaded machine delays a heartbeat by 3 s; the heal test
    # shows it for a real failure).
    for name in ("Ada", "Bob"):
        states = checks.participant(call, name)["captionerStates"]
        assert states[0] == "starting", (name, states)
        assert "on" in states, (name, states)
        assert "missing" not in states, (name, states)
        assert checks.participant(call, name)["captioner"] == "on"


def test_spoken_language_is_shared_as_a_participant_attribute(call: dict[str, Any]) -> None:
    # Ada picked English, Bob left "auto"; the agent reads the same attribute.
    assert checks.participant(call, "Bob")["languages"] == {"Bob (you)": "auto", "Ada": "en"}
    assert checks.participant(call, "Ada")["languages"] == {"Ada (you)": "en", "Bob": "auto"}


def test_speaking_indicator_follows_the_speaker(call: dict[str, Any]) -> None:
    assert "Ada" in checks.participant(call, "Bob")["speakersSeen"]
    assert "Ada (you)" in checks.participant(call, "Ada")["speakersSeen"]


def test_speaker_captions_carry_display_name(call: dict[str, Any]) -> None:
    checks.captions_by(checks.participant(call, "Ada"), "Ada")


def test_other_participant_sees_the_same_captions(call: dict[str, Any]) -> None:
    ada, bob = checks.participant(call, "Ada"), checks.participant(call, "Bob")
    assert bob["transcript"], "Bob saw no captions"
    assert [(e["speaker"], e["text"]) for e in bob["transcript"]] == [
        (e["speaker"], e["text"]) for e in ada["transcript"]
    ]


def test_interim_captions_are_replaced_in_place(call: dict[str, Any]) -> None:
    checks.interims_replaced_in_place(checks.participant(call, "Ada"))


def test_screen_readers_hear_each_final_once_with_its_speaker(call: dict[str, Any]) -> None:
    checks.finals_announced_once(checks.participant(call, "Ada"))
    checks.finals_announced_once(checks.participant(call, "Bob"))


def test_display_settings_work_by_keyboard_and_are_kept(call: dict[str, Any]) -> None:
    keyboard = call["keyboard"]
    # Tab from the "Display" toggle reaches every setting, in order, each with a visible focus ring.
    assert [f["id"] for f in keyboard["focused"]] == [
        "text-size",
        "theme",
        "live-lines",
        "caption-position",
        "auto-scroll",
        "announce-finals",
    ]
    assert all(f["outline"] for f in keyboard["focused"]), keyboard["focused"]
    assert keyboard["afterEscape"] == {"open": False, "focus": "summary"}
    assert keyboard["stored"]["theme"] == "contrast"  # the transcript page was checked in it


def test_txt_download_matches_final_captions_on_screen(call: dict[str, Any]) -> None:
    checks.txt_matches_screen(checks.participant(call, "Ada"))


def test_srt_vtt_json_downloads_hold_the_same_finals(call: dict[str, Any]) -> None:
    checks.other_formats_match_screen(checks.participant(call, "Ada"), "Ada")


def test_transcript_word_error_rate(call: dict[str, Any], fake_mic: FakeMic) -> None:
    checks.word_error_rate_within_bound(checks.participant(call, "Ada"), fake_mic.reference)


def test_screenshots_saved(call: dict[str, Any], artifacts_dir: Path) -> None:
    assert call["screenshots"][0] == str(artifacts_dir / "captions.png")
    for path in call["screenshots"]:
        assert Path(path).stat().st_size > 10_000, path


def test_no_serious_accessibility_violations(call: dict[str, Any], artifacts_dir: Path) -> None:
    # axe-core on Ada's join page, call page (captions flowing, settings open)
    # and transcript page (after Leave); every violation lands in artifacts/axe.json.
    (artifacts_dir / "axe.json").write_text(json.dumps(call["axe"], indent=2) + "\n")
    checks.no_serious_accessibility_violations(call["axe"], {"join", "call", "transcript"})


def test_denied_microphone_keeps_the_call_and_says_why(server_url: str) -> None:
    report = run_session(
        {
            "url": server_url,
            "room": f"browser-{secrets.token_hex(3)}",
            "joinOnly": True,
            "participants": [{"name": "Carol", "denyMic": True}],
        }
    )
    carol = checks.participant(report, "Carol")
    assert carol["pageErrors"] == []
    assert carol["status"] == "connected"  # others' captions still arrive
    assert carol["error"].startswith("Microphone access was denied"), carol["error"]
    assert carol["mic"] == "false"


def test_shared_tab_audio_is_captioned_as_shared(
    server_url: str, fake_mic: FakeMic, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Chromium's fake screen capture carries the fake-mic audio, so Carol's
    # "tab" speaks the cut while her own microphone is off.
    report = run_session(
        {
            "url": server_url,
            "room": f"browser-{secrets.token_hex(3)}",
            "participants": [
                {"name": "Carol", "audio": str(fake_mic.speech), "speaker": True, "shareTab": True}
            ],
            "minFinalWords": 12,
            "timeoutMs": 60_000,
            "outDir": str(tmp_path_factory.mktemp("tab-downloads")),
        }
    )
    carol = checks.participant(report, "Carol")
    checks.connected_without_errors(carol)
    assert carol["mic"] == "false"
    assert carol["sharingTab"] == "false", "stopping the share did not reset the button"
    assert sum(len(e["text"].split()) for e in carol["transcript"]) >= 12, carol["transcript"]
    assert {e["speaker"] for e in carol["transcript"]} == {"Carol (shared audio)"}
    checks.word_error_rate_within_bound(carol, fake_mic.reference, min_words=12)
