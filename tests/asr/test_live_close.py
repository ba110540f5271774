"""A live stream that closes frees its engine slot at once, even while others talk."""

from __future__ import annotations

import asyncio
import logging

import pytest

from roomscribe.aio import CaptionStream
from roomscribe.asr.engine import Engine
from roomscribe.asr.events import Caption, Word
from roomscribe.asr.revision import Reviser, RevisionOptions
from roomscribe.commands.transcribe import file_options
from roomscribe.settings.asr import AsrOptions, engine_options
from tests.asr.fakes import EnergyVad, ToneRecognizer, speaking, synth


def test_live_engines_do_not_revise_at_close() -> None:
    assert not AsrOptions().engine.policy.revision.revise_at_close


def test_transcribe_revises_a_file_to_its_end_with_the_live_settings() -> None:
    live = engine_options(language="fr", revisions="record-first")
    options = file_options(AsrOptions(engine=live), ("Asterisk",))
    assert options.policy.revision.revise_at_close
    assert options.policy.vocabulary == ("Asterisk",)
    assert options.scheduler == live.scheduler
    assert options.policy.language == live.policy.language == "fr"


def _final(segment_id: str, start: float, end: float) -> Caption:
    word = Word(start=start, end=end, text=" hello", probability=0.9)
    return Caption(segment_id, "hello", True, (word,), start, end, "en")


@pytest.mark.parametrize("revise_at_close", [False, True])
def test_what_a_closing_stream_still_waits_for(revise_at_close: bool) -> None:
    reviser = Reviser(RevisionOptions(revise_at_close=revise_at_close))
    reviser.add(_final("s1-1", 0.0, 1.0))
    reviser.close()
    reviser.add(_final("s1-2", 1.5, 2.5))  # the open segment's final, after the close
    assert reviser.finished is not revise_at_close


async def test_a_live_stream_closes_cleanly_while_another_talks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = Engine(ToneRecognizer(), EnergyVad(), engine_options(language="en"))
    with engine, caplog.at_level(logging.WARNING):
        leaving = CaptionStream(engine, close_timeout_s=3.0)
        talking = CaptionStream(engine, close_timeout_s=3.0)
        got: list[Caption] = []

        async def read() -> None:
            async for caption in leaving:
                got.append(caption)

        reader = asyncio.create_task(read())
        sentence = synth(["hello", "there."], tail_s=1.0)
        chatter = speaking(["please", "press", "one", "two"] * 30)  # never pauses
        for i in range(0, len(chatter), 320):
            if i < len(sentence):
                leaving.push(sentence[i : i + 320])
            talking.push(chatter[i : i + 320])
            await asyncio.sleep(0.02)
            if i > len(sentence) and any(c.final for c in got):
                break
        assert any(c.final for c in got), "the leaving speaker's sentence was not finalized"
        await leaving.aclose()
        await asyncio.wait_for(reader, 5)
        assert engine.active_streams == 1
        assert not any("did not finish in time" in r.getMessage() for r in caplog.records)
        await talking.aclose()
