"""Captions in the listener's language, end to end: real livekit-server, real
``roomscribe agent --model base`` (multilingual: tiny.en cannot translate).

A French speaker; one listener asks for English (the participant attribute
``POST /api/translation`` sets), another does not. The asker gets English
finals on streams of their own, marked with ``roomscribe.translation_of``; both
get the same original French captions, and the other listener no translation.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from roomscribe import protocol
from roomscribe.bench.asterisk import prompts
from roomscribe.bench.metrics import normalizer
from roomscribe.bench.metrics import words as normalized_words
from tests.conftest import read_wav
from tests.fixtures.livekit import LiveKitServer, running_agent
from tests.livekit.participants import (
    SAMPLE_RATE,
    Listener,
    Speaker,
    connect,
    poll_until,
    set_attribute,
    set_spoken_language,
)
from tests.livekit.test_captions import load_reference

pytestmark = [pytest.mark.livekit, pytest.mark.model]

CLIP_S = 3.2
"""The first French prompt ("Vous êtes maintenant en mode discret.", 0.5-2.9 s)."""


async def test_a_listener_asking_for_english_gets_translations_beside_the_original(
    own_livekit_server: LiveKitServer, eval_dir: Path, tmp_path: Path
) -> None:
    server, room_name = own_livekit_server, "translated"
    utts, _ = load_reference(eval_dir, "asterisk-fr", CLIP_S)
    [first] = utts
    english_ref = prompts("en")["conf-muted"]  # the same prompt id in the English pack
    audio = read_wav(eval_dir / "asterisk-fr.wav")[: int(CLIP_S * SAMPLE_RATE)]
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
