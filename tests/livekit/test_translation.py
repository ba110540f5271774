"""Captions in the listener's language, end to end: real livekit-server, real
``roomscribe agent --model base`` (multilingual: tiny.en cannot translate).

A French speaker; one listener asks for English (the participant attribute
``POST /api/translation`` sets), another does not. The asker gets English
finals on streams of their own, marked with ``roomscribe.translation_of``; both
get the same original French captions, and the other listener no translation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from livekit import rtc

from roomscribe import protocol
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.bench.asterisk import build_session, prompts
from roomscribe.bench.metrics import normalizer
from roomscribe.bench.metrics import words as normalized_words
from roomscribe.livekit.captioner import RoomCaptioner
from tests.asr.fakes import EnergyVad, ToneRecognizer
from tests.conftest import read_wav
from tests.fixtures.livekit import LiveKitServer, running_agent
from tests.livekit.participants import (
    SAMPLE_RATE,
    Listener,
    Speaker,
    connect,
    custom_token,
    poll_until,
    set_attribute,
    set_spoken_language,
)
from tests.livekit.test_captions import load_reference

pytestmark = pytest.mark.livekit

CLIP_S = 3.2
"""The first French prompt ("Vous êtes maintenant en mode discret.", 0.5-2.9 s)."""


@pytest.mark.model
async def test_a_listener_asking_for_english_gets_translations_beside_the_original(
    own_livekit_server: LiveKitServer, tmp_path: Path
) -> None:
    server, room_name = own_livekit_server, "translated"
    # the French session of the Asterisk pack (as `make bench` builds it)
    french = build_session("fr", tmp_path / "asterisk-fr.wav", seed=1)
    utts, _ = load_reference(tmp_path, "asterisk-fr", CLIP_S)
    [first] = utts
    english_ref = prompts("en")["conf-muted"]  # the same prompt id in the English pack
    audio = read_wav(french)[: int(CLIP_S * SAMPLE_RATE)]
    with running_agent(server, tmp_path / "agent.log", model="base") as worker:
        asker = Listener(await connect(server, room_name, "asker", dispatch_agent=True))
        other = Listener(await connect(server, room_name, "other"))
        for listener in (asker, other):
            listener.start()
        await asker.wait_agent(60)
        await set_attribute(server, room_name, "asker", protocol.ATTR_TRANSLATE_TO, "en")
        speaker = Speaker(await connect(server, room_name, "marie"))
        await set_spoken_language(server, room_name, "marie", "fr")
        await speaker.publish()
        await speaker.wait_subscribed()
        # (not asserted: the check below says what the asker got)
        await poll_until(lambda: "translating into en" in worker.log_text(), 10)

        t0 = time.monotonic() + 0.1
        await speaker.play(audio, t0)
        speaker.mute()  # no more audio: the utterance is finalized at once
        translated = await poll_until(lambda: any(c.translation_of for c in asker.captions), 20)
        await asyncio.sleep(0.5)  # anything the other listener would get by mistake
        await speaker.aclose()
        for listener in (asker, other):
            await listener.aclose()
        log = worker.log_text()

    assert translated, f"no translation reached the asker:\n{log[-3000:]}"
    originals = [c for c in asker.captions if c.final and not c.translation_of]
    english = [c for c in asker.captions if c.translation_of]
    assert originals, log[-3000:]
    # the original stream is what it was: French, its own segment ids, seen alike by both
    assert all(c.language == "fr" for c in originals)
    assert [(c.segment_id, c.text) for c in other.captions if c.final] == [
        (c.segment_id, c.text) for c in originals
    ]
    assert not any(c.translation_of for c in other.captions), "translations reach non-askers"
    # each translation: final, English, on its own segment id, about an original final
    ids = {c.segment_id for c in originals}
    for c in english:
        assert c.final
        assert c.language == "en"
        assert c.translation_of in ids
        assert c.segment_id not in ids
        assert c.sender == "marie"
        assert c.track_id == speaker.track_sid
    heard = set(normalized_words(" ".join(c.text for c in english), normalizer("en")))
    expected = set(normalized_words(english_ref, normalizer("en")))
    print(f"\n[translation] {first.text!r} -> {[c.text for c in english]} (ref {english_ref!r})")
    assert len(heard & expected) >= 2, f"not the English of {first.text!r}: {english}"


class MultilingualTones(ToneRecognizer):
    """The tone recognizer, claiming to be a multilingual model (it can 'translate')."""

    @property
    def multilingual(self) -> bool:
        return True


@contextlib.asynccontextmanager
async def tone_captioner(
    server: LiveKitServer, room: str, backend: ToneRecognizer
) -> AsyncIterator[RoomCaptioner]:
    """A captioner on the scripted tone engine, joined to ``room`` as an agent."""
    engine = Engine(backend, EnergyVad(), EngineOptions())
    engine.start()
    agent = rtc.Room()
    token = custom_token(
        server,
        room,
        protocol.AGENT_IDENTITY,
        can_publish_data=True,
        kind="agent",
        can_update_own_metadata=True,
    )
    await agent.connect(server.url, token, rtc.RoomOptions(auto_subscribe=False))
    captioner = RoomCaptioner(engine, agent)
    captioner.start()
    try:
        yield captioner
    finally:
        await captioner.aclose()
        await agent.disconnect()
        engine.close(timeout=5)


async def test_translation_runs_while_any_listener_asks_and_not_on_an_english_only_model(
    livekit_server: LiveKitServer, caplog: pytest.LogCaptureFixture
) -> None:
    server, room = livekit_server, "askers"
    async with tone_captioner(server, room, MultilingualTones()) as captioner:
        ada = await connect(server, room, "ada")
        bob = await connect(server, room, "bob")
        try:
            # set at once: the captioner may hear of ada with the attribute already set
            await set_attribute(server, room, "ada", protocol.ATTR_TRANSLATE_TO, "en")
            assert await poll_until(lambda: captioner.translation == "en", 10)
            await set_attribute(server, room, "bob", protocol.ATTR_TRANSLATE_TO, "en")
            assert await poll_until(lambda: captioner.askers == ["ada", "bob"], 10)
            await set_attribute(server, room, "ada", protocol.ATTR_TRANSLATE_TO, "")  # unticks
            assert await poll_until(lambda: captioner.askers == ["bob"], 10)
            assert captioner.translation == "en"
            await bob.disconnect()  # the last asker leaves
            assert await poll_until(lambda: captioner.translation is None, 10), captioner.askers
        finally:
            await bob.disconnect()
            await ada.disconnect()

    caplog.set_level(logging.WARNING, logger="roomscribe.livekit.captioner")
    async with tone_captioner(server, "english-only", ToneRecognizer()) as captioner:
        ada = await connect(server, "english-only", "ada")
        try:
            await set_attribute(server, "english-only", "ada", protocol.ATTR_TRANSLATE_TO, "en")
            assert await poll_until(lambda: "cannot translate" in caplog.text, 10)
            assert captioner.translation is None
        finally:
            await ada.disconnect()
