"""LiveKit's own front end shows our captions: ``@livekit/components-react`` ``useTranscriptions``.

The page is ``web-client/examples/components-react``: a plain LiveKit app with no
roomscribe code. Real stack: livekit-server and the roomscribe agent (tiny.en);
the page is served as static files and joins with a token minted here, as any
LiveKit app's backend would. Bob (silent) joins first, then Ada, whose fake mic
plays a 25 s cut of ``allison-a.wav``; once Ada's page shows enough final words
her mic is muted with LiveKit's ``TrackToggle`` so her last sentence is finalized.
The room asks for timed payloads (livekit-agents' ``json_format`` lines, see
``docs/protocol.md``), so the page shows each segment's start and end time too.
"""

from __future__ import annotations

import functools
import json
import secrets
import subprocess
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from livekit import api

from roomscribe import protocol
from tests.browser import checks
from tests.browser.conftest import CHROMIUM, CUT_SECONDS, WEB_CLIENT, FakeMic
from tests.browser.scoring import windowed_wer
from tests.fixtures.livekit import AgentWorker, LiveKitServer

pytestmark = [pytest.mark.browser, pytest.mark.livekit]

EXAMPLE = WEB_CLIENT / "examples" / "components-react"


@pytest.fixture(scope="module")
def example_dist() -> Path:
    """The example's ``dist/``, rebuilt (and type-checked) from the current sources."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    if not (EXAMPLE / "node_modules").is_dir():
        pytest.fail(f"{EXAMPLE}/node_modules is missing: run make setup", pytrace=False)
    subprocess.run(["npm", "run", "--silent", "build"], cwd=EXAMPLE, check=True)
    return EXAMPLE / "dist"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def static_url(example_dist: Path) -> Iterator[str]:
    """``example_dist`` served over HTTP on a free loopback port."""
    handler = functools.partial(_QuietHandler, directory=str(example_dist))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


TIMED_ROOM = json.dumps({protocol.METADATA_TRANSCRIPTION_FORMAT: protocol.FORMAT_JSON})
"""Room metadata asking the captioner for timed (``json_format``) payloads."""


def join_token(server: LiveKitServer, room: str, identity: str, name: str) -> str:
    """What a LiveKit app's backend mints: the room config dispatches the captioner
    and, in the metadata of the room it creates, asks for timed payloads."""
    return (
        api.AccessToken(server.api_key, server.api_secret)
        .with_identity(identity)
        .with_name(name)
        .with_grants(api.VideoGrants(room_join=True, room=room))
        .with_room_config(
            api.RoomConfiguration(
                agents=[api.RoomAgentDispatch(agent_name=protocol.AGENT_NAME)],
                metadata=TIMED_ROOM,
            )
        )
        .to_jwt()
    )


@pytest.fixture(scope="module")
def call(
    livekit_server: LiveKitServer,
    agent_worker: AgentWorker,
    static_url: str,
    fake_mic: FakeMic,
    artifacts_dir: Path,
) -> dict[str, Any]:
    room = f"components-react-{secrets.token_hex(3)}"
    pages = []
    for name, audio in (("Bob", fake_mic.silence), ("Ada", fake_mic.speech)):
        identity = f"{name.lower()}-{secrets.token_hex(3)}"
        token = join_token(livekit_server, room, identity, name)
        query = urlencode({"url": livekit_server.url, "token": token})
        pages.append({"name": name, "identity": identity, "url": f"{static_url}?{query}"})
        pages[-1]["audio"] = str(audio)
    config = {
        "pages": pages,
        "speaker": "Ada",
        "minFinalWords": checks.MIN_WORDS,
        "timeoutMs": 60_000,
        "screenshot": str(artifacts_dir / "components-react.png"),
    }
    done = subprocess.run(
        ["node", "e2e.mjs", json.dumps(config)],
        cwd=EXAMPLE,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise AssertionError(f"e2e.mjs printed no report:\n{done.stdout}\n{done.stderr}") from None
    (artifacts_dir / "components-react.json").write_text(json.dumps(report, indent=1))
    assert report["ok"], f"browser session failed: {report.get('error')}\n{done.stderr}"
    for spec, page in zip(pages, report["pages"], strict=True):
        page["identity"] = spec["identity"]
    return report


def page(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in report["pages"] if p["name"] == name)


def test_both_pages_connected_without_errors(call: dict[str, Any]) -> None:
    for p in call["pages"]:
        assert p["status"] == "connected", p
        assert p["pageErrors"] == [], p["pageErrors"]


def test_captions_are_shown_under_the_speaker_only(call: dict[str, Any]) -> None:
    ada = page(call, "Ada")
    words = sum(len(s["text"].split()) for s in ada["segments"])
    assert words >= checks.MIN_WORDS, ada["segments"]
    # sender_identity is the speaker, so LiveKit attributes the text to Ada,
    # not to the captioning agent that sent it; silent Bob has no captions.
    assert {s["identity"] for s in ada["segments"]} == {ada["identity"]}


def test_one_entry_per_segment_all_final_after_mute(call: dict[str, Any]) -> None:
    segments = page(call, "Ada")["segments"]
    ids = [s["segmentId"] for s in segments]
    assert all(ids), segments
    assert len(ids) == len(set(ids)), ids
    assert all(s["final"] for s in segments), segments
    # Every segment names the one transcribed track: Ada's microphone.
    (track,) = {s["trackId"] for s in segments}
    assert track, segments
    assert all(s["segmentId"].startswith(f"{track}-") for s in segments), segments


def test_interim_segments_become_final_in_place(call: dict[str, Any]) -> None:
    log = page(call, "Ada")["log"]
    interim = {e["segmentId"] for e in log if not e["final"]}
    final = {e["segmentId"] for e in log if e["final"]}
    assert interim, "no interim segment was ever shown"
    assert interim & final, "no interim segment was marked final"
    # A segment's updates replace one entry: one DOM element per segment id.
    nodes: dict[str, set[int]] = {}
    for e in log:
        nodes.setdefault(e["segmentId"], set()).add(e["node"])
    assert all(len(n) == 1 for n in nodes.values()), nodes
    # Once final, a segment stays final with its final text.
    for seg in final:
        entries = [e for e in log if e["segmentId"] == seg]
        first_final = next(i for i, e in enumerate(entries) if e["final"])
        assert all(e["final"] for e in entries[first_final:]), entries


def test_listener_sees_the_same_segments(call: dict[str, Any]) -> None:
    def shown(name: str) -> list[tuple[str, str, str, bool]]:
        return [
            (s["identity"], s["segmentId"], s["text"], s["final"])
            for s in page(call, name)["segments"]
        ]

    assert shown("Bob"), "Bob's page shows no captions"
    assert shown("Bob") == shown("Ada")


def test_transcript_word_error_rate(call: dict[str, Any], fake_mic: FakeMic) -> None:
    hypothesis = " ".join(s["text"] for s in page(call, "Ada")["segments"])
    score = windowed_wer(fake_mic.reference, hypothesis)
    assert score.hyp_words >= checks.MIN_WORDS
    assert score.wer <= checks.MAX_WER, (score, hypothesis)


def test_timed_payloads_give_every_segment_sane_times(call: dict[str, Any]) -> None:
    """The times ride in the payload (livekit-agents ``json_format``) and the page shows them."""
    for name in ("Ada", "Bob"):
        segments = page(call, name)["segments"]
        assert segments, f"{name}'s page shows no captions"
        for s in segments:
            # seconds since the captioner began hearing Ada's microphone, within her clip
            assert s["start"] is not None, s
            assert s["end"] is not None, s
            assert 0.0 <= s["start"] < s["end"] <= CUT_SECONDS, s
        starts = [s["start"] for s in segments]
        assert starts == sorted(starts), segments
        # a segment's text is the payload's words, not the raw JSON lines
        assert not any("start_time" in s["text"] for s in segments), segments
