"""Fast start: from a room's first join to its captioner and to the first caption.

For each of ``--rooms`` fresh rooms, one after the other, a participant joins
with a token whose room configuration dispatches the agent (what
``/api/token`` hands the first person in a room), publishes a microphone at
once and starts talking (the recording from its first utterance on). Measured
on the participant's side, in seconds after the join began:

* **captioner visible**: the captioner participant appears in the room;
* **subscribed**: the captioner subscribed to the microphone;
* **told it is heard**: the captioner's ``roomscribe.hearing`` notice for the
  microphone arrived (the web client says "Captions on" from then on);
* **first caption**: the first ``lk.transcription`` stream for the speaker
  (an interim one; the speaker has then talked for about that long);
* **first final**: the first final caption, and whether it starts with the
  first word said (speech sent before the captioner subscribed is not heard).

With ``--server-log`` (livekit-server's output) and ``--worker-log`` (the
``roomscribe agent`` log; each option once per node or worker), the stages in
between are read from the logs (same machine, same clock): the server receives
the join, the worker receives the job request, the server assigns the job (the
worker accepted), the captioner's own join reaches the server, and the worker
starts captioning the room and the track. Rooms run one at a time, so a worker
log line without a room name belongs to the room being measured.

How to run (after ``make setup``), against a dev server and one worker::

    .venv/bin/python -m roomscribe.bench.allison artifacts/eval  # the recordings
    bin/livekit-server --dev > /tmp/lk.log 2>&1 &
    export LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret
    .venv/bin/roomscribe agent --model tiny.en --language en 2> /tmp/agent.log &
    .venv/bin/python -m roomscribe.bench.faststart artifacts/eval/allison-a.wav \\
        --rooms 20 --server-log /tmp/lk.log --worker-log /tmp/agent.log

``--create-room`` creates each room with its dispatch through the server API
right before the join, as a token service can when it mints a new room's
first token, and counts from that request instead.

It prints p50/p90 per stage (``--json`` for one JSON object). This is a
measurement, not a test: nothing fails on slow numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import secrets
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from dotenv import load_dotenv
from livekit import api, rtc
from numpy.typing import NDArray

from roomscribe import protocol
from roomscribe.audio.decode import decode_file
from roomscribe.bench.reference import load_reference
from roomscribe.server.token import JoinRequest, mint_token
from roomscribe.settings import Settings, SettingsError, add_settings, load_settings
from roomscribe.settings.livekit import LiveKitSettings

SAMPLE_RATE = 16_000
FRAME = SAMPLE_RATE // 100  # 10 ms


@dataclass(slots=True)
class RoomRun:
    """One room: wall-clock times (``time.time()``) of what happened."""

    room: str
    identity: str
    join: float
    """The first request for the room: the join, or the API call creating it."""
    marks: dict[str, float] = field(default_factory=dict)
    first_final: str = ""
    """The text of the first final caption: does it start with the first word said?"""

    def mark(self, stage: str) -> None:
        self.marks.setdefault(stage, time.time())

    def since_join(self) -> dict[str, float]:
        return {stage: t - self.join for stage, t in self.marks.items()}


async def _talk(source: rtc.AudioSource, audio: NDArray[np.float32]) -> None:
    """Send ``audio`` in real time, 10 ms frames."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
    t0 = time.monotonic()
    for i in range(len(pcm) // FRAME):
        delay = t0 + i * 0.01 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        chunk = pcm[i * FRAME : (i + 1) * FRAME]
        await source.capture_frame(rtc.AudioFrame(chunk.tobytes(), SAMPLE_RATE, 1, FRAME))


async def create_room(settings: LiveKitSettings, room_name: str) -> None:
    """Create the room with the agent dispatched, through the server API."""
    dispatch = api.RoomAgentDispatch(agent_name=protocol.AGENT_NAME)
    async with api.LiveKitAPI(settings.url, settings.api_key, settings.api_secret) as client:
        await client.room.create_room(api.CreateRoomRequest(name=room_name, agents=[dispatch]))


async def measure_room(
    settings: LiveKitSettings,
    room_name: str,
    speech: NDArray[np.float32],
    timeout_s: float,
    *,
    create_first: bool = False,
) -> RoomRun:
    """Join a fresh ``room_name``, talk, and time the captioner's arrival and first caption.

    ``create_first``: the room and its dispatch are created through the API before
    the join (what a token service could do when it mints a new room's first
    token); the times then count from that request.
    """
    identity = f"speaker-{room_name}"
    request = JoinRequest(room=room_name, name=identity, identity=identity)
    room = rtc.Room()
    run = RoomRun(room_name, identity, join=time.time())
    if create_first:
        await create_room(settings, room_name)
        run.mark("room created")
    token = mint_token(settings, request, dispatch_agent=not create_first)
    first_final = asyncio.Event()
    reading: set[asyncio.Task[None]] = set()

    def on_participant(participant: rtc.RemoteParticipant) -> None:
        if participant.identity == protocol.AGENT_IDENTITY:
            run.mark("captioner visible")

    async def read_final(reader: rtc.TextStreamReader) -> None:
        text = await reader.read_all()
        if not first_final.is_set():
            run.mark("first final")
            run.first_final = text
            first_final.set()

    def on_caption(reader: rtc.TextStreamReader, sender: str) -> None:
        run.mark("first caption")  # the room's only speaker is us
        if (reader.info.attributes or {}).get(protocol.ATTR_FINAL) == "true":
            task = asyncio.create_task(read_final(reader))
            reading.add(task)
            task.add_done_callback(reading.discard)

    def on_data(packet: rtc.DataPacket) -> None:
        if packet.topic == protocol.HEARING_TOPIC:
            run.mark("told it is heard")

    room.on("participant_connected", on_participant)
    room.on("local_track_subscribed", lambda *_: run.mark("subscribed"))
    room.on("data_received", on_data)
    room.register_text_stream_handler(protocol.TRANSCRIPTION_TOPIC, on_caption)
    source = rtc.AudioSource(SAMPLE_RATE, 1)
    talking: asyncio.Task[None] | None = None
    try:
        # subscribing to nothing: "subscribed" must mean the captioner's subscription
        await room.connect(settings.url, token, rtc.RoomOptions(auto_subscribe=False))
        run.mark("connected")
        if protocol.AGENT_IDENTITY in room.remote_participants:
            run.mark("captioner visible")
        track = rtc.LocalAudioTrack.create_audio_track("microphone", source)
        options = rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE)
        talking = asyncio.create_task(_talk(source, speech))
        await room.local_participant.publish_track(track, options)
        run.mark("published")
        with contextlib.suppress(TimeoutError):  # a missing stage in the report
            await asyncio.wait_for(first_final.wait(), timeout_s)
    finally:
        for task in [*reading, *([talking] if talking else [])]:
            task.cancel()
        await asyncio.gather(*reading, *([talking] if talking else []), return_exceptions=True)
        await room.disconnect()
        await source.aclose()
    return run


# -- stages from the logs -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LogLine:
    t: float
    text: str


def server_log_lines(text: str) -> list[LogLine]:
    """livekit-server console lines: ``2026-01-01T00:00:00.123Z<TAB>INFO<TAB>…``."""
    out = []
    for line in text.splitlines():
        stamp, _, rest = line.partition("\t")
        try:
            t = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        except ValueError:
            continue
        out.append(LogLine(t.timestamp(), rest))
    return out


_WORKER_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) (.*)$")


def worker_log_lines(text: str) -> list[LogLine]:
    """``roomscribe agent`` lines: ``2026-01-01 00:00:00,123 INFO name: message`` (local time)."""
    out = []
    for line in text.splitlines():
        m = _WORKER_STAMP.match(line)
        if m:
            t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").astimezone()
            out.append(LogLine(t.timestamp(), m.group(2)))
    return out


def _server_fields(line: LogLine) -> tuple[str, dict[str, Any]]:
    """The message and the JSON fields of a server line."""
    parts = line.text.split("\t")
    message = parts[3] if len(parts) > 3 else ""
    try:
        fields = json.loads(parts[4]) if len(parts) > 4 else {}
    except json.JSONDecodeError:
        fields = {}
    return message, fields


def server_stages(lines: Sequence[LogLine], run: RoomRun) -> dict[str, float]:
    """When the server saw the join, assigned the job and saw the captioner join."""
    marks: dict[str, float] = {}
    for line in lines:
        if run.room not in line.text:
            continue
        message, fields = _server_fields(line)
        if fields.get("room") != run.room:
            continue
        who = fields.get("participant")
        if message == "starting RTC session" and who == run.identity:
            marks.setdefault("server: join", line.t)
        elif message == "assigned job to worker":
            marks.setdefault("server: job assigned", line.t)
        elif message == "starting RTC session" and who == protocol.AGENT_IDENTITY:
            marks.setdefault("server: captioner joins", line.t)
        elif message == "participant active" and who == protocol.AGENT_IDENTITY:
            marks.setdefault("server: captioner connected", line.t)
    return marks


def worker_stages(lines: Sequence[LogLine], run: RoomRun, until: float) -> dict[str, float]:
    """Worker log stages between the join and ``until`` (the next room's join)."""
    patterns = {
        "worker: job request": "received job request",
        "worker: room connecting": "connecting to ws://",
        "worker: captioning room": f"captioning room {run.room}",
        "worker: captioning track": f"captioning {run.identity}/",
    }
    marks: dict[str, float] = {}
    for line in lines:
        if not run.join - 0.01 <= line.t < until:
            continue
        for stage, needle in patterns.items():
            if needle in line.text:
                marks.setdefault(stage, line.t)
    return marks


# -- report ---------------------------------------------------------------------------------


def percentiles(values: Sequence[float]) -> dict[str, float]:
    return {
        "p50": round(float(np.percentile(values, 50)), 3),
        "p90": round(float(np.percentile(values, 90)), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def summarize(
    runs: Sequence[RoomRun], log_marks: Sequence[dict[str, float]], speech_lead_s: float
) -> dict[str, Any]:
    """Per stage: p50/p90 of seconds since the join, and in how many rooms it was seen."""
    per_stage: dict[str, list[float]] = {}
    for run, extra in zip(runs, log_marks, strict=True):
        for stage, t in {**run.marks, **extra}.items():
            per_stage.setdefault(stage, []).append(t - run.join)
    order = sorted(per_stage, key=lambda s: float(np.median(per_stage[s])))
    return {
        "rooms": len(runs),
        "speech_starts_after_join_s": round(speech_lead_s, 3),
        "stages": {s: {**percentiles(per_stage[s]), "rooms": len(per_stage[s])} for s in order},
    }


def first_words(runs: Sequence[RoomRun], audio: Path) -> dict[str, Any]:
    """How many rooms' first final caption starts with the first word the speaker said."""
    reference = load_reference(audio)
    said = reference.utterances[0].text.split()[0].lower() if reference else ""
    heard = [r.first_final.split()[0].lower().strip(".,!?") if r.first_final else "" for r in runs]
    return {
        "first_word_said": said,
        "rooms_with_it_first": sum(h == said for h in heard),
        "first_finals": [r.first_final for r in runs],
    }


def print_report(report: dict[str, Any]) -> None:
    print(f"fast start over {report['rooms']} fresh rooms (seconds after the join began)")
    print(f"{'stage':30} {'p50':>7} {'p90':>7} {'min':>7} {'max':>7} {'rooms':>6}")
    for stage, s in report["stages"].items():
        print(
            f"{stage:30} {s['p50']:7.3f} {s['p90']:7.3f} {s['min']:7.3f} {s['max']:7.3f}"
            f" {s['rooms']:6d}"
        )
    words = report["first_words"]
    print(
        f"first final starts with the first word said ({words['first_word_said']!r}):"
        f" {words['rooms_with_it_first']} of {report['rooms']} rooms"
    )


def speech_from_first_utterance(path: Path) -> tuple[NDArray[np.float32], float]:
    """The recording from just before its first utterance (when it has a reference)."""
    audio = decode_file(path)
    reference = load_reference(path)
    lead = 0.1
    start = max(0.0, reference.utterances[0].start - lead) if reference else 0.0
    if not reference:
        lead = 0.0
    return audio[int(start * SAMPLE_RATE) :], lead


async def run_bench(args: argparse.Namespace, settings: LiveKitSettings) -> dict[str, Any]:
    speech, lead = speech_from_first_utterance(args.audio)
    tag = secrets.token_hex(3)
    runs = []
    for i in range(args.rooms):
        name = f"faststart-{tag}-{i}"
        runs.append(
            await measure_room(settings, name, speech, args.timeout, create_first=args.create_room)
        )
        await asyncio.sleep(args.pause)  # let the job end: every room starts on a quiet worker
    server = [line for p in args.server_log for line in server_log_lines(p.read_text())]
    worker = [line for p in args.worker_log for line in worker_log_lines(p.read_text())]
    log_marks = []
    for i, run in enumerate(runs):
        until = runs[i + 1].join if i + 1 < len(runs) else float("inf")
        log_marks.append({**server_stages(server, run), **worker_stages(worker, run, until)})
    report = summarize(runs, log_marks, lead)
    report["first_words"] = first_words(runs, args.audio)
    report["runs"] = [
        {**run.since_join(), **{stage: t - run.join for stage, t in marks.items()}}
        for run, marks in zip(runs, log_marks, strict=True)
    ]
    return report


def build_parser(defaults: Settings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m roomscribe.bench.faststart",
        description="time from a room's first join to its captioner and first caption",
    )
    p.add_argument("audio", type=Path, help="speech the participant plays from the join on")
    p.add_argument("--rooms", type=int, default=20)
    # the server as every command reads it; unset: `livekit-server --dev` on this machine
    add_settings(p, defaults, "livekit")
    p.add_argument(
        "--server-log",
        type=Path,
        action="append",
        default=[],
        help="livekit-server's output, for its stages (once per node)",
    )
    p.add_argument(
        "--worker-log",
        type=Path,
        action="append",
        default=[],
        help="a roomscribe agent's log, for its stages (once per worker)",
    )
    p.add_argument("--timeout", type=float, default=20.0, help="per room, for the first final")
    p.add_argument("--pause", type=float, default=1.5, help="seconds between two rooms")
    p.add_argument(
        "--create-room",
        action="store_true",
        help="create each room and its dispatch through the API before joining",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def server_settings(defaults: Settings, args: argparse.Namespace) -> LiveKitSettings:
    """The LiveKit server as every command reads it (environment, ``.env``, flags);
    none configured: ``livekit-server --dev`` on this machine."""
    return defaults.with_flags(vars(args)).livekit() or LiveKitSettings()


def read_command(
    prog: str,
    build: Callable[[Settings], argparse.ArgumentParser],
    argv: Sequence[str] | None,
) -> tuple[argparse.Namespace, LiveKitSettings] | None:
    """A LiveKit benchmark's flags and server (``.env``, environment, flags);
    ``None`` after printing why they do not fit."""
    load_dotenv()
    try:
        defaults = load_settings()
        args = build(defaults).parse_args(argv)
        return args, server_settings(defaults, args)
    except SettingsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return None


def main(argv: Sequence[str] | None = None) -> int:
    command = read_command("roomscribe.bench.faststart", build_parser, argv)
    if command is None:
        return 2
    args, settings = command
    report = asyncio.run(run_bench(args, settings))
    if args.json:
        json.dump(report, sys.stdout, indent=1)
        print()
    else:
        print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
