"""What a session does with captions when the data channel is not open or slow.

White-box: captions are fed to the session's output side directly and a stand-in
channel records what would go on the wire.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from roomscribe.asr.engine import Engine
from roomscribe.server.embedded_session import EmbeddedSession
from roomscribe.settings.embedded import EmbeddedOptions

pytestmark = pytest.mark.embedded


class FakeChannel:
    label = "captions"

    def __init__(self, state: str = "connecting") -> None:
        self.readyState = state
        self.bufferedAmount = 0
        self.sent: list[dict[str, Any]] = []
        self._handlers: dict[str, Callable[..., None]] = {}

    def on(self, event: str, handler: Callable[..., None]) -> None:
        self._handlers[event] = handler

    def remove_all_listeners(self) -> None:
        self._handlers.clear()

    def open(self) -> None:
        self.readyState = "open"
        self._handlers["open"]()

    def close(self) -> None:
        self.readyState = "closed"
        self._handlers["close"]()

    def send(self, data: str) -> None:
        self.sent.append(json.loads(data))


def caption(segment: str, text: str, final: bool) -> dict[str, Any]:
    return {"type": "caption", "segment_id": segment, "track_id": "t", "text": text, "final": final}


@pytest.fixture
async def session(scripted_engine: Engine) -> AsyncIterator[EmbeddedSession]:
    s = EmbeddedSession(
        "sid",
        scripted_engine,
        speaker="Ada",
        language=None,
        options=EmbeddedOptions(pending_captions=3, max_buffered_bytes=1000),
        on_closed=lambda _: None,
    )
    yield s
    await s.aclose()


async def test_captions_wait_for_the_channel_newest_interim_only(session: EmbeddedSession) -> None:
    session._emit(caption("a", "one", False))
    session._emit(caption("a", "one two", False))  # replaces the queued interim
    session._emit(caption("a", "one two.", True))
    session._emit(caption("b", "three", False))
    session._emit(caption("b", "three four", False))
    channel = FakeChannel()
    session._attach(channel)
    assert channel.sent == []  # still connecting
    channel.open()
    assert [m["type"] for m in channel.sent] == ["hello", "caption", "caption"]
    assert channel.sent[0] == {"type": "hello", "session_id": "sid", "speaker": "Ada"}
    assert [m["text"] for m in channel.sent[1:]] == ["one two.", "three four"]
    assert session.stats.captions_sent == 2
    assert session.stats.finals_sent == 1


async def test_full_buffer_drops_interims_before_finals(session: EmbeddedSession) -> None:
    session._emit(caption("a", "a.", True))
    session._emit(caption("b", "b", False))
    session._emit(caption("c", "c.", True))
    session._emit(caption("d", "d.", True))  # 4 > 3 pending: the interim of b goes
    session._emit(caption("e", "e.", True))  # only finals left: the oldest goes
    channel = FakeChannel("open")
    session._attach(channel)
    assert [m["text"] for m in channel.sent[1:]] == ["c.", "d.", "e."]
    assert (session.stats.captions_dropped, session.stats.finals_dropped) == (2, 1)


async def test_slow_reader_loses_interims_never_finals(session: EmbeddedSession) -> None:
    channel = FakeChannel("open")
    session._attach(channel)
    channel.bufferedAmount = 5000  # over max_buffered_bytes
    session._emit(caption("a", "x", False))
    session._emit(caption("a", "x y.", True))
    channel.bufferedAmount = 0
    session._emit(caption("b", "z", False))
    assert [m.get("text") for m in channel.sent] == [None, "x y.", "z"]
    assert (session.stats.captions_dropped, session.stats.finals_dropped) == (1, 0)


async def test_closed_channel_counts_drops(session: EmbeddedSession) -> None:
    channel = FakeChannel("open")
    session._attach(channel)
    channel.readyState = "closed"
    session._emit(caption("a", "gone.", True))
    assert channel.sent[1:] == []
    assert session.stats.finals_dropped == 1
