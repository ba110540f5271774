"""The durable transcript of record against a real livekit-server, with each store.

* A store that is down (another process holds the SQLite file locked; the
  Redis process is stopped with SIGSTOP) does not stop live captions; once it
  is back the record has every final, none missing, and late joiners get it
  from the store.
* Two real workers share one store (a data directory, or a real Redis); the
  captioning worker is killed with SIGKILL mid-meeting, the other heals the
  room and carries on. Every participant then gets the whole meeting's
  transcript (finals from before the kill included), and after everyone left
  ``GET /api/rooms/{room}/transcript`` returns exactly the finals (revised
  where revised) the listener saw.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from livekit import rtc

from roomscribe import protocol
from roomscribe.asr.engine import Engine, EngineOptions
from roomscribe.asr.policy import PolicyOptions
from roomscribe.livekit.captioner import RoomCaptioner
from roomscribe.server.app import AppOptions, create_app
from roomscribe.settings.access import AccessOptions
from roomscribe.store import RecordOptions, RecordWriter
from roomscribe.store.sqlite import FILE_NAME
from tests.asr.fakes import EnergyVad, ToneRecognizer, synth
from tests.conftest import read_wav
from tests.embedded.conftest import UvicornThread
from tests.fixtures.livekit import (
    AgentWorker,
    LiveKitServer,
    running_agents,
    running_livekit_server,
)
from tests.fixtures.redis import running_redis
from tests.livekit.participants import (
    SAMPLE_RATE,
    Listener,
    Received,
    Speaker,
    connect,
    custom_token,
    poll_until,
    settings_of,
)
from tests.livekit.talking_room import talking_room

pytestmark = [pytest.mark.livekit, pytest.mark.serial]
STORES = ["sqlite", "redis"]


@dataclass(frozen=True, slots=True)
class Store:
    """A store of one kind for a test, and how to take it down and bring it back."""

    options: RecordOptions
    down: Callable[[], None]
    up: Callable[[], None]

    @property
    def env(self) -> dict[str, str]:
        """The workers' settings for it (``ROOMSCRIBE_DATA_DIR`` is set by the fixture)."""
        return {"ROOMSCRIBE_STORE": self.options.redis_url or "sqlite"}


@contextmanager
def store_of(kind: str, tmp_path: Path, log_dir: Path) -> Iterator[Store]:
    """SQLite in ``tmp_path/data`` (down: another process holds it locked), or a real
    ``redis-server`` (down: SIGSTOP, nothing answers)."""
    data_dir = tmp_path / "data"
    if kind == "redis":
        log_path = log_dir / f"redis-{tmp_path.name}.log"
        with running_redis(tmp_path / "redis", log_path) as server:
            yield Store(RecordOptions(data_dir, redis_url=server.url), server.pause, server.resume)
        return
    blocker: list[sqlite3.Connection] = []

    def lock() -> None:
        blocker.append(sqlite3.connect(data_dir / FILE_NAME, timeout=0))
        blocker[0].execute("BEGIN EXCLUSIVE")

    def unlock() -> None:
        blocker[0].rollback()
        blocker.pop().close()

    yield Store(RecordOptions(data_dir), lock, unlock)


@dataclass
class Backlogs:
    """Every backlog stream one participant receives: (sender, segments)."""

    received: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def listen(self, room: rtc.Room) -> Backlogs:
        room.register_text_stream_handler(protocol.BACKLOG_TOPIC, self._on_stream)
        return self

    def _on_stream(self, reader: rtc.TextStreamReader, sender: str) -> None:
        task = asyncio.create_task(self._read(reader, sender))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, reader: rtc.TextStreamReader, sender: str) -> None:
        self.received.append((sender, json.loads(await reader.read_all())))

    def last(self) -> list[tuple[str, str]]:
        """(segment id, text) of the last backlog received."""
        return [(s["segment_id"], s["text"]) for s in self.received[-1][1]]


def latest_finals(captions: Iterable[Received], sender: str) -> list[tuple[str, str]]:
    """(segment id, latest final text) in the order segments first became final."""
    latest: dict[str, tuple[int, str]] = {}
    for c in captions:
        newer = c.segment_id not in latest or c.revision >= latest[c.segment_id][0]
        if c.final and c.sender == sender and newer:
            latest[c.segment_id] = (c.revision, c.text.strip())
    return [(sid, text) for sid, (_, text) in latest.items() if text]


async def late_joiner(url: str, token: str) -> tuple[rtc.Room, Backlogs]:
    room = rtc.Room()
    backlogs = Backlogs().listen(room)
    await room.connect(url, token, rtc.RoomOptions(auto_subscribe=False))
    return room, backlogs


# -- the store down and back ------------------------------------------------------------


async def test_live_captions_go_on_while_the_store_is_down_and_the_record_has_no_gap(
    tmp_path: Path, artifacts_dir: Path
) -> None:
    """Each store in a room of its own, both at once on one livekit-server (the
    captioners' fake recognizer costs nothing): SQLite locked, Redis SIGSTOPped."""
    with ExitStack() as stack:
        server = stack.enter_context(running_livekit_server(tmp_path))
        async with asyncio.TaskGroup() as outages:  # one failing cancels the other
            for kind in STORES:
                store = stack.enter_context(store_of(kind, tmp_path / kind, artifacts_dir))
                outages.create_task(captions_through_an_outage(server, f"outage-{kind}", store))


async def captions_through_an_outage(server: LiveKitServer, room: str, store: Store) -> None:
    writer = RecordWriter(replace(store.options, retry_s=0.3))
    writer.start()
    engine = Engine(
        ToneRecognizer(), EnergyVad(), EngineOptions(policy=PolicyOptions(language="en"))
    )
    engine.start()
    try:
        agent = rtc.Room()
        token = custom_token(
            server, room, protocol.AGENT_IDENTITY, can_publish_data=True, kind="agent"
        )
        await agent.connect(server.url, token, rtc.RoomOptions(auto_subscribe=False))
        captioner = RoomCaptioner(engine, agent, record=writer)
        captioner.start()
        listener = Listener(await connect(server, room, "carol", subscribe=False))
        listener.start()
        ada = Speaker(await connect(server, room, "ada", subscribe=False))
        await ada.publish()
        await ada.wait_subscribed()

        store.down()
        try:
            words = [
                "hello",
                "there.",
                "|",
                "how",
                "are",
                "you",
                "today?",
                "|",
                "fine",
                "thanks.",
                "|",
            ]
            await ada.play(synth(words), time.monotonic())
            assert await poll_until(lambda: len(listener.finals("ada")) >= 3, 20)
            assert await poll_until(lambda: writer.failures >= 1, 10)
            assert writer.pending >= 3  # live captions came; the record waits
        finally:
            store.up()
        assert await poll_until(lambda: writer.pending == 0, 10), "not flushed"

        words = ["good", "morning.", "|", "please", "press", "one", "|"]
        await ada.play(synth(words), time.monotonic())
        assert await poll_until(lambda: len(listener.finals("ada")) >= 5, 20)
        await listener.wait_quiet(quiet_s=2.0, timeout_s=20)
        assert await poll_until(lambda: writer.pending == 0, 10)

        seen = latest_finals(listener.captions, "ada")
        stored = [(s.segment_id, s.text) for s in writer.store.segments(room) if s.text]
        assert stored == seen  # no gap: the outage's finals were flushed, in order
        assert len(seen) >= 5

        bob, backlogs = await late_joiner(
            server.url, custom_token(server, room, "bob", can_publish_data=False)
        )
        assert await poll_until(lambda: bool(backlogs.received), 20), "no backlog for bob"
        assert backlogs.last() == seen
        await bob.disconnect()
        await ada.aclose()
        await listener.aclose()
        await captioner.aclose()
        await agent.disconnect()
    finally:
        engine.close(timeout=5)
        writer.close()


# -- a heal, a late joiner, the transcript after the meeting ------------------------------

HEALED = "record-heal"
PASSCODE = "correct horse"


def _logs(workers: list[AgentWorker]) -> str:
    return "\n\n".join(f"== {w.log_path.name}\n{w.log_text()[-3000:]}" for w in workers)


@pytest.mark.parametrize(
    "kind",
    # the heal is the same on both stores; Redis's writer across a kill -9 and a
    # restart is tested in tests/store/test_redis.py, so its 35 s heal runs in `make soak`
    ["sqlite", pytest.param("redis", marks=pytest.mark.soak)],
)
async def test_a_healed_meeting_keeps_its_whole_transcript(
    kind: str, tmp_path: Path, eval_dir: Path, artifacts_dir: Path
) -> None:
    with store_of(kind, tmp_path, artifacts_dir) as store:
        await heal_and_check_the_record(store, eval_dir, artifacts_dir)


async def heal_and_check_the_record(store: Store, eval_dir: Path, artifacts_dir: Path) -> None:
    # Five sentences; one final before the kill leaves three (a heal takes 4-8 s)
    # after it. Silence at the end: the last sentence is final before anyone leaves.
    speech = read_wav(eval_dir / "allison-a.wav")[: int(18.6 * SAMPLE_RATE)]
    audio = np.concatenate([speech, np.zeros(SAMPLE_RATE, dtype=np.float32)])
    data_dir = store.options.data_dir
    kind = store.env["ROOMSCRIBE_STORE"].split(":")[0]
    logs = [artifacts_dir / f"livekit-record-{kind}-worker-{i}.log" for i in range(2)]
    with (
        running_livekit_server(data_dir.parent) as server,
        running_agents(server, logs, data_dir=data_dir, env=store.env) as workers,
    ):
        async with talking_room(server, HEALED, audio) as scene:
            talker = scene.speaker.identity
            heard = Backlogs().listen(scene.listener.room)
            finals = lambda: latest_finals(scene.listener.captions, talker)  # noqa: E731
            assert await poll_until(lambda: len(finals()) >= 1, 40), _logs(workers)
            victim = next(w for w in workers if w.serves(HEALED))
            dead_sid = scene.captioner_sid()
            killed_at = scene.now()
            victim.crash()
            before_kill = finals()

            assert await poll_until(lambda: scene.joined_after(killed_at, dead_sid), 40)
            # the listener was there all along: the new captioner sends her the
            # meeting so far (she may have missed finals while there was none)
            assert await poll_until(lambda: bool(heard.received), 20), _logs(workers)
            assert heard.last()[: len(before_kill)] == before_kill
            assert await poll_until(lambda: len(finals()) > len(before_kill), 30), _logs(workers)
            assert await poll_until(lambda: scene.now() > len(audio) / SAMPLE_RATE, 40)
            await scene.listener.wait_quiet(quiet_s=2.0, timeout_s=30)

            zoe, backlogs = await late_joiner(
                server.url, custom_token(server, HEALED, "zoe", can_publish_data=False)
            )
            assert await poll_until(lambda: bool(backlogs.received), 20), _logs(workers)
            seen = finals()
            assert backlogs.last() == seen, _logs(workers)  # count and text, in order
            assert backlogs.last()[: len(before_kill)] == before_kill
            await zoe.disconnect()
        healed_at = scene.joined_after(killed_at, dead_sid) or 0.0
        print(
            f"\n[record {kind}] killed at {killed_at:.1f} s, healed at {healed_at:.1f} s, "
            f"{len(before_kill)} finals before the kill, {len(seen)} in all"
        )

    # Everyone left; the web server reads the same data dir.
    await asyncio.to_thread(check_download, server, store.options, seen, talker)


def check_download(
    server: LiveKitServer, record: RecordOptions, seen: list[tuple[str, str]], speaker: str
) -> None:
    """``GET /api/rooms/{room}/transcript`` over HTTP: the passcode, and what the listener saw."""
    app = create_app(
        AppOptions(
            livekit=settings_of(server),
            web_dir=record.data_dir / "no-web-client",
            access=AccessOptions(passcode=PASSCODE),
            record=record,
        )
    )
    web = UvicornThread(app)
    try:
        url = f"{web.url}/api/rooms/{HEALED}/transcript"
        passcode = {"X-Roomscribe-Passcode": PASSCODE}
        assert httpx.get(url, params={"format": "json"}).status_code == 401
        wrong = {"X-Roomscribe-Passcode": "wrong"}
        assert httpx.get(url, params={"format": "json"}, headers=wrong).status_code == 401
        r = httpx.get(url, params={"format": "json"}, headers=passcode)
        assert r.status_code == 200, r.text
        rows = r.json()
        assert [(row["segment_id"], row["text"]) for row in rows] == seen
        assert {row["speaker"] for row in rows} == {speaker}  # its display name
        # times count from the room's creation (LiveKit's), before the first words
        assert 0.0 < rows[0]["start"] < 60.0, rows[0]
        assert all(a["start"] <= b["start"] for a, b in itertools.pairwise(rows))
        vtt = httpx.get(url, params={"format": "vtt"}, headers=passcode)
        assert vtt.text.startswith("WEBVTT")
        assert seen[-1][1] in vtt.text
        missing = f"{web.url}/api/rooms/never-held/transcript"
        assert httpx.get(missing, headers=passcode).status_code == 404
    finally:
        web.stop()
