"""Captions in the listener's language: picked in the page, shown under the original,
stopped when unpicked.

Real livekit-server, ``roomscribe serve`` and ``roomscribe agent --model base``
(multilingual: tiny.en cannot translate). Marie, a Python speaker, says the first
prompt of the French Asterisk session. Ada in Chromium picked English in "Also
show in" before joining; a Python listener also asks for English (the participant
attribute ``POST /api/translation`` sets), to read the translation off the wire;
another asks for nothing. Then the Python asker leaves and Ada picks "Original
only": the captioner stops translating, because nobody asks any more.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from roomscribe import protocol
from roomscribe.bench.asterisk import build_session, prompts
from roomscribe.bench.metrics import normalizer
from roomscribe.bench.metrics import words as normalized_words
from tests.browser import checks
from tests.browser.conftest import FakeMic, ServeFactory
from tests.browser.held import HeldSession
from tests.conftest import read_wav
from tests.fixtures.livekit import running_agent, running_livekit_server
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

pytestmark = [pytest.mark.browser, pytest.mark.livekit, pytest.mark.model]

ROOM = "translated"
CLIP_S = 3.2
"""The first French prompt ("Vous êtes maintenant en mode discret.", 0.5-2.9 s)."""
STARTED = "translating into en"
STOPPED = "no listener asks for translations any more"


async def test_a_listener_picks_english_reads_it_under_the_original_and_unpicks_it(
    tmp_path: Path, fake_mic: FakeMic, roomscribe_serve: ServeFactory
) -> None:
    # the French session of the Asterisk pack (as `make bench` builds it)
    french = build_session("fr", tmp_path / "asterisk-fr.wav", seed=1)
    [first], _ = load_reference(tmp_path, "asterisk-fr", CLIP_S)
    english_ref = prompts("en")["conf-muted"]  # the same prompt id in the English pack
    audio = read_wav(french)[: int(CLIP_S * SAMPLE_RATE)]
    ada = {"name": "Ada", "audio": str(fake_mic.silence), "translate": "en"}
    with (
        running_livekit_server(tmp_path) as server,
        running_agent(server, tmp_path / "agent.log", model="base") as worker,
    ):
        log = worker.log_text
        url = roomscribe_serve(livekit=server)
        other = Listener(await connect(server, ROOM, "other", dispatch_agent=True))
        asker = Listener(await connect(server, ROOM, "asker"))
        for listener in (asker, other):
            listener.start()
        await other.wait_agent(60)
        async with HeldSession({"url": url, "room": ROOM, "participants": [ada]}) as page:
            # Ada's pick, sent as she joined, is what starts the translations
            assert await poll_until(lambda: STARTED in log(), 15), log()[-3000:]
            await set_attribute(server, ROOM, "asker", protocol.ATTR_TRANSLATE_TO, "en")
            marie = Speaker(await connect(server, ROOM, "marie"))
            await set_spoken_language(server, ROOM, "marie", "fr")
            await marie.publish()
            await marie.wait_subscribed()
            await marie.play(audio, time.monotonic() + 0.1)
            marie.mute()  # no more audio: the utterance is finalized at once
            shown = await page.checkpoint(translated=True, timeout_ms=30_000)
            assert await poll_until(lambda: any(c.translation_of for c in asker.captions), 10)
            await asyncio.sleep(0.5)  # anything the other listener would get by mistake
            await asker.aclose()  # Ada still asks: the translations go on
            await asyncio.sleep(0.5)
            asked_still = STOPPED not in log()
            unpicked = await page.checkpoint(translate="", timeout_ms=5_000)
            stopped = await poll_until(lambda: STOPPED in log(), 10)
            await page.report_when(timeout_ms=1_000)  # Ada leaves
        await marie.aclose()
        await other.aclose()

    # Ada's page: the French original, its English translation marked under it
    seen = checks.participant(shown, "Ada")
    checks.connected_without_errors(seen)
    originals = [c for c in other.captions if c.final and not c.translation_of]
    assert originals, log()[-3000:]
    assert all(c.language == "fr" for c in originals)
    finals = [e for e in seen["transcript"] if e["speaker"] == "marie"]
    texts: dict[str, list[str]] = {}  # per segment: its final, then any revision of it
    for c in originals:
        texts.setdefault(c.segment_id, []).append(c.text)
    assert len(finals) == len(texts), (finals, texts)
    for entry, options in zip(finals, texts.values(), strict=True):
        assert entry["text"] in options, (entry, options)
    translated = [e["translation"] for e in finals if "translation" in e]
    assert translated, finals
    assert all(t["mark"] == "EN" and t["lang"] == "en" for t in translated), translated
    assert any("translation" in c and c["translation"]["mark"] == "EN" for c in seen["captions"]), (
        seen["captions"]
    )
    heard = set(normalized_words(" ".join(t["text"] for t in translated), normalizer("en")))
    expected = set(normalized_words(english_ref, normalizer("en")))
    print(f"\n[translation] {first.text!r} -> {translated} (ref {english_ref!r})")
    assert len(heard & expected) >= 2, f"not the English of {first.text!r}: {translated}"
    # a screen reader hears the translation once, with its language
    assert [a for a in seen["announced"] if a.startswith("marie (English): ")], seen["announced"]

    # on the wire: the asker's translations are finals of their own, about an original;
    # the listener who asked for nothing got the same originals and no translation
    english = [c for c in asker.captions if c.translation_of]
    ids = {c.segment_id for c in originals}
    # (the asker left before any revision of the original)
    first_finals = [(c.segment_id, c.text) for c in originals if c.revision == 0]
    assert [
        (c.segment_id, c.text)
        for c in asker.captions
        if c.final and not c.translation_of and c.revision == 0
    ] == first_finals
    assert not any(c.translation_of for c in other.captions), "translations reach non-askers"
    for c in english:
        assert (c.final, c.language, c.sender, c.track_id) == (True, "en", "marie", marie.track_sid)
        assert c.translation_of in ids
        assert c.segment_id not in ids

    # unpicked: nobody asks any more, so the captioner stops translating
    assert asked_still, "stopped translating while Ada still asked"
    checks.connected_without_errors(checks.participant(unpicked, "Ada"))
    assert stopped, log()[-3000:]
