"""Who asks for captions in their language: the captioner translates while any
listener asks (the participant attribute ``POST /api/translation`` sets) and
never on an English-only model. A real livekit-server, the scripted tone engine.

The real model, end to end with a page that picks English:
``tests/browser/test_translated_captions.py``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from livekit import rtc

from roomscribe import protocol
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.livekit.captioner import RoomCaptioner
from tests.asr.fakes import EnergyVad, ToneRecognizer
from tests.fixtures.livekit import LiveKitServer
from tests.livekit.participants import connect, custom_token, poll_until, set_attribute

pytestmark = pytest.mark.livekit


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
