"""``POST /api/offer`` against a real server: bad input, limits, session lifecycle.

These use the scripted recognizer (real VAD, engine thread and WebRTC), so they
need no Whisper model and run in seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from numpy.typing import NDArray

from roomscribe.asr.engine import Engine
from roomscribe.settings.embedded import EmbeddedOptions
from tests.conftest import read_wav
from tests.embedded.conftest import CaptionClient, RunningServer, WavTrack, wait_for

pytestmark = pytest.mark.embedded

StartServer = Callable[[Engine, EmbeddedOptions], RunningServer]
Clients = Callable[..., CaptionClient]


@pytest.fixture(scope="module")
def speech(eval_dir: Path) -> NDArray[np.float32]:
    """The first two utterances of allison-a (0-9.6 s)."""
    return read_wav(eval_dir / "allison-a.wav")[: int(9.6 * 16_000)]


async def post(url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(f"{url}/api/offer", **kwargs)


def detail(r: httpx.Response) -> str:
    body = r.json()
    assert isinstance(body["detail"], str), body
    return body["detail"]


async def test_malformed_offers_get_clear_4xx(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    server = start_server(scripted_engine, EmbeddedOptions(max_sdp_bytes=8192))
    url = server.url

    r = await post(url, content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "must be JSON" in detail(r)

    r = await post(url, json=["sdp"])
    assert r.status_code == 422
    assert "JSON object" in detail(r)

    r = await post(url, json={"type": "offer"})
    assert r.status_code == 422
    assert detail(r) == "field 'sdp' is required and must be a string"

    r = await post(url, json={"sdp": "v=0", "type": "answer"})
    assert r.status_code == 400
    assert 'type must be "offer"' in detail(r)

    r = await post(url, json={"sdp": "hello", "type": "offer"})
    assert r.status_code == 400
    assert "not an SDP offer" in detail(r)

    # Looks like SDP, has both sections, but no ICE credentials or fingerprint.
    broken = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=application 9 UDP/DTLS/SCTP x\r\n"
    r = await post(url, json={"sdp": broken, "type": "offer"})
    assert r.status_code == 400
    assert detail(r).startswith("could not use the SDP offer")

    real = await clients(WavTrack(speech)).offer_sdp()
    huge = real + "a=x-padding:" + "x" * 9000 + "\r\n"
    r = await post(url, json={"sdp": huge, "type": "offer"})
    assert r.status_code == 413
    assert "limit is 8192" in detail(r)

    r = await post(
        url, content=b"{" + b" " * 20_000 + b"}", headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert "limit" in detail(r)

    r = await post(url, json={"sdp": real, "type": "offer", "language": "xx"})
    assert r.status_code == 400
    assert "unknown language 'xx'" in detail(r)

    r = await post(url, json={"sdp": real, "type": "offer", "name": 42})
    assert r.status_code == 422
    assert "'name' must be a string" in detail(r)

    assert server.session_count() == 0
    assert server.service.stats.sessions_opened == 1  # only the broken-SDP one got that far


async def test_offer_without_audio_or_data_channel_is_refused(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    from aiortc.mediastreams import VideoStreamTrack

    server = start_server(scripted_engine, EmbeddedOptions())

    client = clients(None)
    client.pc.addTrack(VideoStreamTrack())
    r = await post(server.url, json={"sdp": await client.offer_sdp(), "type": "offer"})
    assert r.status_code == 400
    assert detail(r) == "the offer has no audio (m=audio) section, only: video, application"

    client = clients(WavTrack(speech), channel_label=None)
    r = await post(server.url, json={"sdp": await client.offer_sdp(), "type": "offer"})
    assert r.status_code == 400
    assert "no data channel" in detail(r)
    assert "'captions'" in detail(r)
    assert server.session_count() == 0


async def test_session_limit_frees_slot_when_peer_leaves(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    server = start_server(scripted_engine, EmbeddedOptions(max_sessions=1))
    first = clients(WavTrack(speech))
    answer = await first.connect(server.url, name="Ada")
    assert answer["type"] == "answer"
    assert answer["session_id"] in server.service.sessions

    second = clients(WavTrack(speech))
    r = await post(server.url, json={"sdp": await second.offer_sdp(), "type": "offer"})
    assert r.status_code == 503
    assert detail(r) == "all 1 caption sessions are in use; try later"

    await wait_for(lambda: any(m["type"] == "hello" for m in first.messages), 10, "hello")
    await first.close()
    await wait_for(lambda: server.session_count() == 0, 10, "the first session to close")
    third = clients(WavTrack(speech))
    answer = await third.connect(server.url, name="Grace")
    assert server.session_count() == 1
    hello = await _first_message(third, "hello")
    assert hello == {"type": "hello", "session_id": answer["session_id"], "speaker": "Grace"}


async def test_engine_full_is_refused(
    start_server: StartServer, clients: Clients, speech: Any
) -> None:
    from roomscribe.asr.engine import EngineOptions
    from roomscribe.asr.vad import SileroModel
    from tests.embedded.conftest import ScriptedBackend

    with Engine(ScriptedBackend(), SileroModel(), EngineOptions(max_streams=1)) as engine:
        server = start_server(engine, EmbeddedOptions(max_sessions=4))
        await clients(WavTrack(speech)).connect(server.url)
        r = await post(
            server.url, json={"sdp": await clients(WavTrack(speech)).offer_sdp(), "type": "offer"}
        )
        assert r.status_code == 503
        assert detail(r) == "all 1 caption streams are in use"
        assert server.session_count() == 1
        await asyncio.to_thread(server.stop)  # before the engine closes, as the app does


async def test_server_opens_captions_channel_when_client_did_not(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    server = start_server(scripted_engine, EmbeddedOptions())
    client = clients(WavTrack(speech), channel_label="chat")
    await client.connect(server.url, name="Lin")
    await wait_for(lambda: len(client.captions) > 0, 20, "captions on the server's channel")
    assert client.channel_labels == ["chat", "captions"]
    assert client.messages[0]["type"] == "hello"
    assert {m["speaker"] for m in client.captions} == {"Lin"}


async def test_one_audio_track_per_session(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    """An offer with three audio sections takes one engine stream; the rest are inactive."""
    server = start_server(scripted_engine, EmbeddedOptions())
    client = clients([WavTrack(speech), WavTrack(speech[16_000 * 4 :]), WavTrack(speech)])
    answer = await client.connect(server.url, name="Kim")
    (session,) = server.service.sessions.values()
    assert session.track_count == 1
    assert scripted_engine.active_streams == 1
    audio = [m for m in answer["sdp"].split("m=")[1:] if m.startswith("audio")]
    assert [_direction(m) for m in audio] == ["recvonly", "inactive", "inactive"]

    await wait_for(lambda: any(m["final"] for m in client.captions), 20, "a final caption")
    assert {m["track_id"] for m in client.captions} == {
        client.pc.getTransceivers()[0].sender.track.id
    }
    assert {m["speaker"] for m in client.captions} == {"Kim"}
    assert scripted_engine.active_streams == 1


def _direction(media_section: str) -> str:
    for line in media_section.splitlines():
        if line.strip() in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            return line.strip()[2:]
    raise AssertionError(f"no direction in {media_section!r}")


async def test_offer_needs_json_from_this_origin(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    server = start_server(scripted_engine, EmbeddedOptions())
    sdp = await clients(WavTrack(speech)).offer_sdp()
    body = json.dumps({"sdp": sdp, "type": "offer"})
    host = server.url.removeprefix("http://")

    async def send(content_type: str, origin: str | None = None) -> httpx.Response:
        headers = {"content-type": content_type} | ({"origin": origin} if origin else {})
        return await post(server.url, content=body, headers=headers)

    # What a cross-site <form> or a fetch() without preflight from another page can send.
    r = await send("text/plain")
    assert r.status_code == 415
    assert "Content-Type: application/json" in detail(r)
    r = await send("application/json", "https://evil.example")
    assert r.status_code == 403
    assert "'https://evil.example' are not allowed" in detail(r)
    r = await send("application/json", f"http://{host}:1")  # same host, another port
    assert r.status_code == 403
    assert server.service.stats.sessions_opened == 0

    r = await send("application/json; charset=utf-8", f"http://{host}")  # its own page
    assert r.status_code == 200, r.text
    assert server.session_count() == 1


async def test_set_language_and_bad_control_messages(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    server = start_server(scripted_engine, EmbeddedOptions())
    client = clients(WavTrack(speech))
    await client.connect(server.url, language="en")
    await _first_message(client, "hello")
    client.channel.send('{"type": "set_language", "language": "de"}')
    client.channel.send('{"type": "set_language", "language": "klingon"}')
    client.channel.send("nope")
    await wait_for(
        lambda: len([m for m in client.messages if m["type"] == "error"]) == 2, 10, "errors"
    )
    errors = [m["message"] for m in client.messages if m["type"] == "error"]
    assert errors == [
        "language must be 'auto' or a language code like 'en', not 'klingon'",
        "message is not valid JSON",
    ]
    (session,) = server.service.sessions.values()
    assert session.language == "de"


async def test_idle_peer_is_closed_and_its_sentence_finalized(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    """A tab that stops sending audio mid-utterance (frozen, vanished) is cleaned up."""
    server = start_server(scripted_engine, EmbeddedOptions(idle_timeout=1.5))
    mid_utterance = speech[: int(7.0 * 16_000)]  # utterance 2 runs 4.7-9.4 s
    client = clients(WavTrack(mid_utterance, after="stall"))
    answer = await client.connect(server.url, name="Zoe")
    sid = answer["session_id"]
    await wait_for(lambda: server.session_count() == 0, 20, "the idle session to close")
    # live finals (a revision of utterance 1 may come after utterance 2's final)
    finals = [m for m in server.captions_of(sid) if m["final"] and not m["revision"]]
    assert len(finals) >= 2  # utterance 1 by the VAD, utterance 2 by the idle close
    assert finals[-1]["end"] > 6.0
    # Finalized while the channel was still open, so the client got it too.
    await wait_for(lambda: finals[-1] in client.captions, 5, "last final")


async def test_peer_that_never_connects_is_closed(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    server = start_server(scripted_engine, EmbeddedOptions(connect_timeout=1.0))
    client = clients(WavTrack(speech))
    r = await post(server.url, json={"sdp": await client.offer_sdp(), "type": "offer"})
    assert r.status_code == 200  # the answer is never applied: no ICE, no DTLS
    assert server.session_count() == 1
    await wait_for(lambda: server.session_count() == 0, 10, "the unconnected session to close")


async def _first_message(client: CaptionClient, kind: str) -> dict[str, Any]:
    await wait_for(lambda: any(m["type"] == kind for m in client.messages), 10, kind)
    return next(m for m in client.messages if m["type"] == kind)


async def test_shutdown_finalizes_open_sessions(
    start_server: StartServer, scripted_engine: Engine, clients: Clients, speech: Any
) -> None:
    server = start_server(scripted_engine, EmbeddedOptions())
    tabs = [clients(WavTrack(speech)) for _ in range(2)]
    answers = [await tab.connect(server.url, name=f"tab{i}") for i, tab in enumerate(tabs)]
    assert server.session_count() == 2
    await asyncio.sleep(6.5)  # both tabs are in the middle of utterance 2
    await asyncio.to_thread(server.stop)
    assert server.session_count() == 0
    for i, (answer, tab) in enumerate(zip(answers, tabs, strict=True)):
        captions = server.captions_of(answer["session_id"])
        finals = [m for m in captions if m["final"] and not m["revision"]]
        assert finals[-1]["end"] > 5.0  # the open sentence was finalized on shutdown
        assert finals[-1] in tab.captions  # and delivered before the peer closed
        assert {m["speaker"] for m in tab.captions} == {f"tab{i}"}
