"""Listener latency: from a talker's speech to the caption at another participant.

Talkers that do not steal the CPU from the agent: each is a ``bin/lktalk
publish`` process (Go, ``scripts/install-lktalk.sh``) sending the Opus packets
of an Ogg file as they are, in real time, as ``lk room join --publish
file.ogg`` does (no audio is decoded or encoded while they talk; the Ogg files
are made from the WAVs beforehand, 48 kHz mono Opus, 20 ms packets). They
start together, once the captioner has told each that it hears its track. A
Python ``rtc.Room`` listener (no audio subscribed) records the arrival
(``time.time()``) of every ``lk.transcription`` stream with its attributes,
and a ``bin/lktalk probe`` participant the arrival of every RTP packet the SFU
forwards (no decoding).

**Latency at the listener**, per reference utterance (``NAME.json`` next to the
WAV): from when the utterance's end was sent, the talker's first packet time
plus the end's position in the file, to the arrival of the final caption
covering it (of the live finals whose span overlaps the utterance, the one
reaching furthest, as ``bench.metrics.final_by_time`` picks it). The talker
writes down when its first packet went out (``first_packet``: its own clock,
the machine's, ±1 ms) and then sends packet *i* at that time plus its position
(its own pacing error is reported: ``late`` p99/max). A packet leaves when its
20 ms start is due, as from a file, so a sample left up to 20 ms before its
"sent" time: the figures are up to 20 ms pessimistic, never optimistic.

**Per stage**, with the agent's timing marks (:mod:`roomscribe.timing`; the
agent must run with them on, as ``--start`` does) for the same final:

* *talker → agent audio*: until the agent's pipeline had pushed the frame that
  holds the utterance's end (SFU, the agent's jitter buffer, Opus decode,
  resampling to 16 kHz, the FFI hop and the event loop); the received audio is
  lined up with the file sent by its loudness envelope (10 ms frames);
* *pause*: until the VAD's ``min_silence_s`` more had come (an utterance is
  final after that much silence);
* *VAD + queue*: until the model call that decoded the final started; of it,
  *model busy* is the part spent waiting for a call already running when the
  pause was complete (an interim decode of any stream);
* *decode*: the final's model call (``TimedBackend``);
* *engine → loop → publisher*: the engine handing the caption over, its hop
  to the track's event loop, the publisher's queue (earlier captions' sends);
* *text stream*: opening, writing and closing the ``lk.transcription`` stream;
* *SFU → listener*: from the stream's close until the listener read it all.

The RTP probe gives the *talker → SFU → subscriber* part of the first stage
(packets as forwarded, before any jitter buffer or decoder).

How to run (after ``make setup``; ``make bench-listener`` runs the first line)::

    scripts/install-lktalk.sh
    .venv/bin/python -m roomscribe.bench.listener --start \\
        artifacts/eval/allison-a.wav artifacts/eval/allison-b.wav

``--start`` starts ``bin/livekit-server --dev --bind 127.0.0.1`` and ``roomscribe
agent`` (``--model``, ``--language``; default base, en) with the timing marks
on, and stops them after; without it, the bench uses the server of the
settings and reads the agent's log from ``--agent-log``. Logs and the talkers'
records go to ``--out`` (default ``.cache/bench-listener``). This is a
measurement, not a test: nothing fails on slow numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from livekit import rtc
from numpy.typing import NDArray

from roomscribe import protocol, timing
from roomscribe.asr.events import Caption
from roomscribe.asr.vad import VadOptions
from roomscribe.audio.decode import decode_file
from roomscribe.bench.faststart import percentiles, read_command
from roomscribe.bench.metrics import NEXT_START_SLACK_S, score
from roomscribe.bench.reference import Reference, Utterance, load_reference
from roomscribe.livekit import dev_server
from roomscribe.replay import Emitted
from roomscribe.server.token import JoinRequest, mint_token
from roomscribe.settings import CHECKOUT, Settings, add_settings
from roomscribe.settings.livekit import LiveKitSettings

SAMPLE_RATE = 16_000
FRAME_S = 0.01
OPUS_RATE = 48_000
OPUS_BITRATE = 32_000
PAUSE_S = VadOptions().min_silence_s
"""Silence that ends an utterance."""
LKTALK = CHECKOUT / "bin" / "lktalk"
START_LEAD_S = 8.0
"""The talkers send their first packet this long after they are started (joining,
publishing and being heard take 1-3 s)."""
LINGER_S = 8.0
"""Talkers stay this long after their last packet (their last finals come in it)."""
MAX_OFFSET_S = 30.0


# -- the audio the talkers send --------------------------------------------------------


def ogg_opus(wav: Path, cache: Path) -> Path:
    """``wav`` as Ogg Opus, 48 kHz mono, one 20 ms packet per page (made once)."""
    import av

    out = cache / f"{wav.stem}.ogg"
    if out.is_file() and out.stat().st_mtime >= wav.stat().st_mtime:
        return out
    cache.mkdir(parents=True, exist_ok=True)
    part = out.with_suffix(".part")
    with (
        av.open(str(wav)) as src,
        av.open(str(part), "w", format="ogg", options={"page_duration": "20000"}) as dst,
    ):
        stream = dst.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        stream.bit_rate = OPUS_BITRATE
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        for frame in [*src.decode(audio=0), None]:
            for resampled in resampler.resample(frame):
                dst.mux(stream.encode(resampled))
        dst.mux(stream.encode(None))
    part.replace(out)
    return out


def envelope(audio: NDArray[np.float32]) -> NDArray[np.float64]:
    """Peak of each 10 ms frame, in dB (what the agent's ``audio`` marks carry)."""
    n = len(audio) // int(SAMPLE_RATE * FRAME_S)
    frames = np.abs(audio[: n * int(SAMPLE_RATE * FRAME_S)]).reshape(n, -1).max(axis=1)
    return to_db(frames * 32768.0)


def to_db(peaks: NDArray[np.float64] | NDArray[np.float32]) -> NDArray[np.float64]:
    return np.asarray(20 * np.log10(np.maximum(peaks, 1.0)), dtype=np.float64)


def align(sent: NDArray[np.float64], heard: NDArray[np.float64]) -> tuple[int, float]:
    """The lag (frames) at which ``heard`` best matches ``sent``: heard[i + lag] ~ sent[i].

    Returns the lag and the correlation there (1.0: the same envelope)."""
    a = (sent - sent.mean()) / (sent.std() or 1.0)
    b = (heard - heard.mean()) / (heard.std() or 1.0)
    max_lag = min(len(b) - 1, int(MAX_OFFSET_S / FRAME_S))
    best, best_r = 0, -2.0
    for lag in range(-int(1.0 / FRAME_S), max_lag + 1):
        lo = max(0, -lag)
        hi = min(len(a), len(b) - lag)
        if hi - lo < len(a) // 2:
            continue
        r = float(np.dot(a[lo:hi], b[lo + lag : hi + lag]) / (hi - lo))
        if r > best_r:
            best, best_r = lag, r
    return best, best_r


# -- the run -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Heard:
    """One ``lk.transcription`` stream at the listener."""

    opened: float
    """When its header arrived (``time.time()``)."""
    done: float
    """When its text was read in full."""
    sender: str
    track: str
    segment: str
    final: bool
    revision: int
    start: float
    end: float
    text: str


@dataclass
class Listener:
    room: rtc.Room
    heard: list[Heard] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self) -> None:
        self.room.register_text_stream_handler(protocol.TRANSCRIPTION_TOPIC, self._on_stream)

    def _on_stream(self, reader: rtc.TextStreamReader, sender: str) -> None:
        task = asyncio.create_task(self._read(reader, sender, time.time()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, reader: rtc.TextStreamReader, sender: str, opened: float) -> None:
        text = await reader.read_all()
        attrs = reader.info.attributes or {}
        self.heard.append(
            Heard(
                opened=opened,
                done=time.time(),
                sender=sender,
                track=attrs.get(protocol.ATTR_TRACK_ID, ""),
                segment=attrs.get(protocol.ATTR_SEGMENT_ID, ""),
                final=attrs.get(protocol.ATTR_FINAL) == "true",
                revision=int(attrs.get(protocol.ATTR_REVISION, "0")),
                start=float(attrs.get(protocol.ATTR_START, "nan")),
                end=float(attrs.get(protocol.ATTR_END, "nan")),
                text=text,
            )
        )

    async def aclose(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.room.disconnect()


@dataclass
class Talker:
    wav: Path
    """What the talker says: its reference (``NAME.json``) and the audio sent."""
    ogg: Path
    """The same as Ogg Opus, what ``lktalk`` sends."""
    identity: str
    records: Path
    """``lktalk``'s output: when it joined, was heard, sent its first packet..."""
    process: subprocess.Popen[bytes] | None = None

    def events(self) -> dict[str, dict[str, Any]]:
        return lktalk_events(self.records)

    @property
    def finished(self) -> bool:
        """Sent its last packet (or exited)."""
        gone = self.process is None or self.process.poll() is not None
        return gone or "done" in self.events()


def lktalk_events(records: Path) -> dict[str, dict[str, Any]]:
    """An ``lktalk`` output's records by event (the first of each; its log lines skipped)."""
    out: dict[str, dict[str, Any]] = {}
    for line in records.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError, KeyError):
                record = json.loads(line)
                out.setdefault(record["event"], record)
    return out


def _wait_for(
    ready: Callable[[], bool], what: str, timeout_s: float, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with code {proc.returncode}")
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} was not ready within {timeout_s:.0f} s")
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes], timeout_s: float = 25.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True, slots=True)
class Stack:
    agent_log: Path
    pids: dict[str, int]
    """The processes whose CPU time is reported."""


@contextlib.contextmanager
def dev_stack(out: Path, model: str, language: str) -> Iterator[Stack]:
    """livekit-server ``--dev`` and ``roomscribe agent`` with timing marks."""
    if dev_server.running():
        raise SystemExit(
            f"a LiveKit server already answers at {dev_server.HTTP_URL}; stop it or drop --start"
        )
    server_log, agent_log = out / "livekit-server.log", out / "agent.log"
    with contextlib.ExitStack() as stack:
        server_out = stack.enter_context(server_log.open("wb"))
        server = subprocess.Popen(
            dev_server.command(CHECKOUT / "bin" / "livekit-server"),
            stdout=server_out,
            stderr=subprocess.STDOUT,
            cwd=CHECKOUT,
        )
        stack.callback(_stop, server)
        _wait_for(dev_server.running, "livekit-server", 20, server)
        env = dev_server.agent_env()
        agent_args = ["agent", "--model", model, "--language", language, "--health-port", "0"]
        agent_out = stack.enter_context(agent_log.open("wb"))
        agent = subprocess.Popen(
            [sys.executable, "-m", "roomscribe.cli", "--timing", *agent_args],
            env=env,
            stdout=agent_out,
            stderr=subprocess.STDOUT,
            cwd=CHECKOUT,
        )
        stack.callback(_stop, agent)
        _wait_for(lambda: dev_server.REGISTERED in agent_log.read_bytes(), "the agent", 180, agent)
        yield Stack(agent_log, {"livekit-server": server.pid, "agent": agent.pid})


def machine_seconds() -> tuple[float, float]:
    """Busy and stolen CPU seconds of the whole machine so far (``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / tick, steal / tick


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its live descendants so far (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    procs: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                procs[int(entry.name)] = (
                    int(fields[1]),
                    (int(fields[11]) + int(fields[12])) / tick,
                )
    family = {pid}
    grew = True
    while grew:
        kids = {p for p, (ppid, _) in procs.items() if ppid in family} - family
        family |= kids
        grew = bool(kids)
    return sum(procs[p][1] for p in family if p in procs)


def _spawn(args: list[str], records: Path) -> subprocess.Popen[bytes]:
    with records.open("wb") as f:
        return subprocess.Popen(args, stdout=f, stderr=subprocess.STDOUT)


async def _until(done: Callable[[], bool], every_s: float = 0.5) -> None:
    while True:
        if done():
            return
        await asyncio.sleep(every_s)


async def _wait_exit(proc: subprocess.Popen[bytes]) -> int:
    return await asyncio.to_thread(proc.wait)


async def run_room(
    settings: LiveKitSettings, talkers: Sequence[Talker], out: Path, watch: dict[str, int]
) -> tuple[list[Heard], dict[str, float]]:
    """Listener, probe and talkers in a fresh room; returns what the listener heard and
    the cores each of ``watch`` (and this process, the listener) used while they talked."""
    room_name = f"listener-{secrets.token_hex(3)}"

    def token(identity: str, dispatch: bool = False) -> str:
        join = JoinRequest(room=room_name, name=identity, identity=identity)
        return mint_token(settings, join, dispatch_agent=dispatch)

    room = rtc.Room()
    listener = Listener(room)
    listener.start()
    await room.connect(settings.url, token("listener", True), rtc.RoomOptions(auto_subscribe=False))
    probe_records = out / "probe.jsonl"
    probe: subprocess.Popen[bytes] | None = None
    cores: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 60
        while protocol.AGENT_IDENTITY not in room.remote_participants:
            if time.monotonic() > deadline:
                raise SystemExit("the captioner did not join within 60 s")
            await asyncio.sleep(0.1)
        lktalk = str(LKTALK)
        probe = _spawn(
            [lktalk, "probe", "--url", settings.url, "--token", token("probe")], probe_records
        )
        await asyncio.sleep(1.0)
        start_at = time.time() + START_LEAD_S
        for t in talkers:
            args = [lktalk, "publish", "--url", settings.url, "--token", token(t.identity)]
            args += ["--file", str(t.ogg), "--start-at", f"{start_at:.3f}"]
            args += ["--linger", f"{LINGER_S:.0f}s"]
            t.process = _spawn(args, t.records)
        await asyncio.sleep(max(0.0, start_at - time.time()))
        cpu0 = {name: cpu_seconds(pid) for name, pid in watch.items()}
        t0, own0, (busy0, steal0) = time.time(), time.process_time(), machine_seconds()
        await _until(lambda: all(t.finished for t in talkers))
        wall = time.time() - t0
        busy1, steal1 = machine_seconds()
        cores = {name: (cpu_seconds(pid) - cpu0[name]) / wall for name, pid in watch.items()}
        cores["listener"] = (time.process_time() - own0) / wall
        cores["machine (all processes)"] = (busy1 - busy0) / wall
        cores["stolen by the host"] = (steal1 - steal0) / wall
        codes = await asyncio.gather(*(_wait_exit(t.process) for t in talkers if t.process))
        if any(codes):
            tails = [t.records.read_text()[-500:] for t in talkers]
            raise SystemExit(f"a talker failed (exit codes {codes}): {tails}")
        await asyncio.sleep(3.0)  # the last captions after the talkers left
    finally:
        if probe is not None:
            _stop(probe)
        await listener.aclose()
    return listener.heard, cores


# -- analysis ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Track:
    """One talker's track as the agent received it, lined up with the file sent."""

    identity: str
    sid: str
    reference: Reference
    first_packet: float
    """When the talker sent its first packet (its clock)."""
    offset_s: float
    """Stream time of the file's start: stream time = file time + offset."""
    match: float
    """Correlation of the two envelopes at that offset."""
    pushed: NDArray[np.float64]
    """Stream seconds pushed after each frame the agent received..."""
    arrived: NDArray[np.float64]
    """... and when it was pushed."""

    def sent_at(self, file_s: float) -> float:
        return self.first_packet + file_s

    def pushed_at(self, file_s: float) -> float:
        """When the agent had pushed the audio up to ``file_s`` (nan if never)."""
        i = int(np.searchsorted(self.pushed, file_s + self.offset_s - 1e-6))
        return float(self.arrived[i]) if i < len(self.arrived) else float("nan")


def build_track(talker: Talker, marks: Sequence[timing.Mark], reference: Reference) -> Track:
    events = talker.events()
    first = events.get("first_packet")
    if first is None:
        raise SystemExit(f"{talker.identity} sent no packet: {talker.records}")
    sid = str(first["track"])
    audio = [m for m in marks if m.stage == "audio" and m.fields.get("track") == sid]
    if not audio:
        raise SystemExit(f"no audio marks for {sid}: did the agent run with timing marks on?")
    pushed = np.array([m.num("pushed") for m in audio])
    arrived = np.array([m.t for m in audio])
    peaks = np.array([m.num("peak") for m in audio])
    lag, r = align(envelope(decode_file(talker.wav)), to_db(peaks))
    # frame k of the received audio ends at pushed[k]; it matches file frame k - lag
    offset = float(pushed[0]) - FRAME_S + lag * FRAME_S
    return Track(talker.identity, sid, reference, float(first["at"]), offset, r, pushed, arrived)


@dataclass(frozen=True, slots=True)
class Stages:
    """One utterance's final, stage by stage (seconds)."""

    utterance: Utterance
    total: float
    stages: dict[str, float]


STAGES = (
    "talker -> agent audio",
    "pause",
    "VAD + queue",
    "  of it: model busy",
    "decode (final's call)",
    "engine hands over",
    "-> event loop",
    "publisher queue",
    "send -> listener has header",
    "listener has text",
)


def covering_final(u: Utterance, finals: Sequence[Heard], offset_s: float) -> Heard | None:
    """The live final reaching furthest into ``u`` (``bench.metrics.final_by_time``'s rule)."""
    overlapping = [
        h
        for h in finals
        if h.end - offset_s > u.start and h.start - offset_s < u.end - NEXT_START_SLACK_S
    ]
    return max(overlapping, key=lambda h: (h.end, h.done)) if overlapping else None


def stages_of(track: Track, u: Utterance, final: Heard, marks: Sequence[timing.Mark]) -> Stages:
    sent = track.sent_at(u.end)
    raw = final.segment.removeprefix(f"{track.sid}-")
    nan = float("nan")

    def first(stage: str, after: float = 0.0, **want: str) -> float:
        for m in marks:
            if (
                m.stage == stage
                and m.t >= after
                and all(m.fields.get(k) == v for k, v in want.items())
            ):
                return m.t
        return nan

    out_t = first("engine_out", segment=raw, final="1", revision="0")
    calls = [m for m in marks if m.stage == "decode" and m.t <= out_t]
    call = calls[-1] if calls and calls[-1].num("finals") > 0 else None
    decode_start = call.num("start") if call else nan
    decode_end = call.t if call else nan
    has_end = track.pushed_at(u.end)
    has_pause = track.pushed_at(u.end + PAUSE_S)
    # another model call (any stream's) running when the pause was complete
    busy = [
        m
        for m in marks
        if m.stage == "decode" and m.num("start") <= has_pause < m.t and m is not call
    ]
    waited = max(0.0, min(busy[-1].t, decode_start) - has_pause) if busy else 0.0
    loop_in = first("loop_in", out_t, track=track.sid, segment=raw)
    send = first("send_start", loop_in, segment=final.segment, final="1", revision="0")
    return Stages(
        u,
        final.done - sent,
        {
            "talker -> agent audio": has_end - sent,
            "pause": has_pause - has_end,
            "VAD + queue": decode_start - has_pause,
            "  of it: model busy": waited,
            "decode (final's call)": decode_end - decode_start,
            "engine hands over": out_t - decode_end,
            "-> event loop": loop_in - out_t,
            "publisher queue": send - loop_in,
            "send -> listener has header": final.opened - send,
            "listener has text": final.done - final.opened,
        },
    )


def rtp_delays(probe_records: Path, track: Track) -> list[float]:
    """Per RTP packet of the talker at the probe: arrival minus when its audio was due.

    The SFU's own silence frames (``blank``) are left out, and so is anything
    that arrived before the talker's first packet left."""
    packets = []
    for line in probe_records.read_text().splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            r = json.loads(line)
            if (
                r.get("event") == "rtp"
                and r.get("identity") == track.identity
                and not r.get("blank")
                and float(r["t"]) >= track.first_packet
            ):
                packets.append((int(r["ts"]), float(r["t"])))
    if not packets:
        return []
    ts0 = packets[0][0]
    return [t - track.sent_at(((ts - ts0) % 2**32) / OPUS_RATE) for ts, t in packets]


def _stats(values: Sequence[float]) -> dict[str, float]:
    clean = [v for v in values if v == v]  # drop nan
    return {**percentiles(clean), "n": len(clean)} if clean else {"n": 0}


def analyze(
    talkers: Sequence[Talker], heard: Sequence[Heard], agent_log: Path, probe_records: Path
) -> dict[str, Any]:
    marks = timing.parse(agent_log.read_text(errors="replace"))
    events = [m for m in marks if m.stage != "audio"]
    report: dict[str, Any] = {"talkers": {}, "stages": {}}
    all_stages: list[Stages] = []
    for talker in talkers:
        reference = load_reference(talker.wav)
        if reference is None or not reference.utterances:
            raise SystemExit(f"{talker.wav} has no reference utterances ({talker.wav.stem}.json)")
        track = build_track(talker, marks, reference)
        finals = [h for h in heard if h.track == track.sid and h.final and not h.revision]
        per: list[Stages] = []
        missed = 0
        for u in reference.utterances:
            final = covering_final(u, finals, track.offset_s)
            if final is None:
                missed += 1
            else:
                per.append(stages_of(track, u, final, events))
        all_stages += per
        emitted = [
            Emitted(
                0,
                h.done - track.first_packet,
                Caption(
                    h.segment,
                    h.text,
                    h.final,
                    (),
                    h.start - track.offset_s,
                    h.end - track.offset_s,
                    None,
                    h.revision,
                ),
            )
            for h in heard
            if h.track == track.sid
        ]
        text_score = score(emitted, reference)
        delays = np.array(
            [
                track.pushed_at(t) - track.sent_at(t)
                for t in np.arange(1.0, track.pushed[-1] - track.offset_s - 1.0, 0.01)
            ]
        )
        gaps = np.diff(track.arrived)
        talker_events = talker.events()
        report["talkers"][talker.identity] = {
            "wav": str(talker.wav),
            "track": track.sid,
            "first_packet": track.first_packet,
            "offset_s": round(track.offset_s, 3),
            "envelope_match": round(track.match, 3),
            "pacing": talker_events.get("done", {}),
            "utterances": len(reference.utterances),
            "without_final": missed,
            "final_latency": _stats([s.total for s in per]),
            "final_latency_last_word": _stats(text_score.final),
            "wer": round(text_score.wer, 4),
            "audio_delay": _stats(list(delays)),
            "rtp_delay": _stats(rtp_delays(probe_records, track)),
            "frame_gaps": {
                "p50": round(float(np.percentile(gaps, 50)), 4),
                "p99": round(float(np.percentile(gaps, 99)), 4),
                "max": round(float(gaps.max()), 4),
                "over_50ms": int((gaps > 0.05).sum()),
                "frames": len(track.arrived),
            },
        }
    report["final_latency"] = _stats([s.total for s in all_stages])
    report["stages"] = {name: _stats([s.stages[name] for s in all_stages]) for name in STAGES}
    lags = [m.num("lag") for m in marks if m.stage == "loop_lag"]
    calls = [m for m in marks if m.stage == "decode"]
    report["loop_lag"] = {"events": len(lags), "max": round(max(lags, default=0.0), 3)}
    span = (calls[-1].t - calls[0].num("start")) if calls else float("nan")
    report["decode_calls"] = {
        kind: _stats([m.t - m.num("start") for m in calls if call_kind(m) == kind])
        for kind in ("with finals", "interim only", "revision")
    }
    report["model_busy_share"] = round(sum(m.t - m.num("start") for m in calls) / span, 3)
    sends = [m for m in marks if m.stage in ("send_start", "stream_sent", "legacy_sent")]
    report["legacy_send"] = _stats(_durations(sends, "stream_sent", "legacy_sent"))
    report["stream_send_all"] = _stats(_durations(sends, "send_start", "stream_sent"))
    report["per_utterance"] = [
        {
            "t": s.utterance.end,
            "total": round(s.total, 3),
            **{k: round(v, 3) for k, v in s.stages.items()},
        }
        for s in all_stages
    ]
    return report


def call_kind(m: timing.Mark) -> str:
    """What a ``decode`` mark's model call was for."""
    if m.num("finals") > 0:
        return "with finals"
    return "revision" if float(m.fields.get("revisions", "0")) > 0 else "interim only"


def cpu_of_lktalk(talkers: Sequence[Talker], probe_records: Path) -> dict[str, float]:
    """Cores each ``lktalk`` used from its join to its last packet (its own account)."""
    out = {}
    for name, path in [*((t.identity, t.records) for t in talkers), ("probe", probe_records)]:
        events = lktalk_events(path)
        joined, done = events.get("joined"), events.get("done")
        if joined and done and "cpu_s" in done:
            out[name] = round(float(done["cpu_s"]) / (float(done["t"]) - float(joined["t"])), 3)
    return out


def _durations(marks: Sequence[timing.Mark], begin: str, end: str) -> list[float]:
    """Per segment, from each ``begin`` mark to the next ``end`` mark of that segment."""
    started: dict[str, float] = {}
    out = []
    for m in marks:
        seg = m.fields.get("segment", "")
        if m.stage == begin:
            started[seg] = m.t
        elif m.stage == end and seg in started:
            out.append(m.t - started.pop(seg))
    return out


def print_report(report: dict[str, Any], file: IO[str] = sys.stdout) -> None:
    def row(name: str, s: dict[str, float]) -> str:
        if not s.get("n"):
            return f"{name:28} {'-':>7} {'-':>7} {'-':>7} {0:>5}"
        return f"{name:28} {s['p50']:7.3f} {s['p90']:7.3f} {s['max']:7.3f} {s['n']:5d}"

    print(f"listener latency, {len(report['talkers'])} talker(s) at once", file=file)
    print(f"{'':28} {'p50':>7} {'p90':>7} {'max':>7} {'n':>5}", file=file)
    for who, t in report["talkers"].items():
        print(row(f"final at listener: {who}", t["final_latency"]), file=file)
    print(row("final at listener: all", report["final_latency"]), file=file)
    print("stages of those finals:", file=file)
    for name, s in report["stages"].items():
        print(row(name, s), file=file)
    print("more:", file=file)
    for who, t in report["talkers"].items():
        print(row(f"{who} RTP at probe", t["rtp_delay"]), file=file)
        print(row(f"{who} audio at agent", t["audio_delay"]), file=file)
        print(row(f"{who} last word final", t["final_latency_last_word"]), file=file)
        g = t["frame_gaps"]
        print(
            f"  {who}: WER {100 * t['wer']:.1f} %, {t['without_final']} of {t['utterances']}"
            f" utterances without a final, offset {t['offset_s']:.3f} s"
            f" (match {t['envelope_match']}),"
            f" frame gaps p50 {1000 * g['p50']:.0f} / p99 {1000 * g['p99']:.0f} /"
            f" max {1000 * g['max']:.0f} ms, {g['over_50ms']} over 50 ms;"
            f" pacing late p99 {t['pacing'].get('late_p99_ms', float('nan'))} ms",
            file=file,
        )
    for kind, s in report["decode_calls"].items():
        print(row(f"model calls, {kind}", s), file=file)
    print(f"the model was busy {100 * report['model_busy_share']:.0f} % of the time", file=file)
    print(row("text stream send (all)", report["stream_send_all"]), file=file)
    print(row("legacy packet send", report["legacy_send"]), file=file)
    lag = report["loop_lag"]
    print(f"event loop late > 30 ms: {lag['events']} times, max {lag['max']:.3f} s", file=file)
    cores = ", ".join(f"{name} {c:.2f}" for name, c in report.get("cores", {}).items())
    print(f"cores used while talking: {cores}", file=file)


# -- command ---------------------------------------------------------------------------------


def vars_of(h: Heard) -> dict[str, Any]:
    return {k: getattr(h, k) for k in Heard.__slots__}


def build_parser(defaults: Settings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m roomscribe.bench.listener",
        description="latency from talkers (bin/lktalk) to the captions at a LiveKit listener",
    )
    p.add_argument("audio", type=Path, nargs="+", help="one WAV per talker, all talk at once")
    add_settings(p, defaults, "livekit")
    p.add_argument("--start", action="store_true", help="start livekit-server --dev and the agent")
    p.add_argument("--model", default="base", help="the agent's model (with --start)")
    p.add_argument("--language", default="en", help="the agent's language (with --start)")
    p.add_argument("--agent-log", type=Path, help="without --start: the agent's log (timing on)")
    p.add_argument("--out", type=Path, default=CHECKOUT / ".cache" / "bench-listener")
    p.add_argument("--json", type=Path, help="also write the report here")
    p.add_argument(
        "--records",
        action="store_true",
        help="run nothing: analyze again what the last run left in --out",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    command = read_command("roomscribe.bench.listener", build_parser, argv)
    if command is None:
        return 2
    args, settings = command
    if not LKTALK.is_file():
        print(f"{LKTALK} not found: run scripts/install-lktalk.sh", file=sys.stderr)
        return 2
    if not (args.start or args.records) and args.agent_log is None:
        print("give --start, or --agent-log with the agent's log", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    talkers = [
        Talker(wav, ogg_opus(wav, out), f"talker-{chr(ord('a') + i)}", out / f"talker-{i}.jsonl")
        for i, wav in enumerate(args.audio)
    ]
    heard_file, cores_file = out / "heard.json", out / "cores.json"
    agent_log = args.agent_log or out / "agent.log"
    if args.records:
        heard = [Heard(**h) for h in json.loads(heard_file.read_text())]
        cores = json.loads(cores_file.read_text())
    else:
        with contextlib.ExitStack() as stack:
            watch: dict[str, int] = {}
            if args.start:
                started = stack.enter_context(dev_stack(out, args.model, args.language))
                agent_log, watch = started.agent_log, started.pids
                settings = dev_server.SETTINGS
            heard, cores = asyncio.run(run_room(settings, talkers, out, watch))
        heard_file.write_text(json.dumps([vars_of(h) for h in heard]))
        cores_file.write_text(json.dumps(cores))
    report = analyze(talkers, heard, agent_log, out / "probe.jsonl")
    report["cores"] = {
        **{name: round(c, 3) for name, c in cores.items()},
        **cpu_of_lktalk(talkers, out / "probe.jsonl"),
    }
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
