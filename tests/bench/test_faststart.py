"""Reading the fast-start stages from livekit-server and worker log lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from roomscribe.bench.faststart import (
    RoomRun,
    build_parser,
    server_log_lines,
    server_settings,
    server_stages,
    summarize,
    worker_log_lines,
    worker_stages,
)
from roomscribe.settings import Settings, SettingsError
from roomscribe.settings.livekit import LiveKitSettings

ROOM = "faststart-29caff-3"
ME = f"speaker-{ROOM}"

# Lines as livekit-server v1.13.5 writes them (JSON fields shortened), with one
# line of another room and one of this room's other events.
SERVER_LOG = "\n".join(
    [
        "2026-12-02T01:04:31.481Z\tINFO\tlivekit\tservice/roommanager.go:433\tstarting RTC session"
        f'\t{{"room": "{ROOM}", "participant": "{ME}", "numParticipants": 0}}',
        "2026-12-02T01:04:31.509Z\tINFO\tlivekit\trtc/room.go:1272\tparticipant active"
        f'\t{{"room": "{ROOM}", "participant": "{ME}"}}',
        "2026-12-02T01:04:31.600Z\tINFO\tlivekit.agents\tservice/agentservice.go:412"
        '\tassigned job to worker\t{"room": "faststart-29caff-2", "jobType": "JT_ROOM"}',
        "2026-12-02T01:04:31.688Z\tINFO\tlivekit.agents\tservice/agentservice.go:412"
        f'\tassigned job to worker\t{{"room": "{ROOM}", "jobType": "JT_ROOM"}}',
        "2026-12-02T01:04:31.734Z\tINFO\tlivekit\tservice/roommanager.go:433\tstarting RTC session"
        f'\t{{"room": "{ROOM}", "participant": "roomscribe-captions"}}',
        "2026-12-02T01:04:31.801Z\tINFO\tlivekit\trtc/room.go:1272\tparticipant active"
        f'\t{{"room": "{ROOM}", "participant": "roomscribe-captions"}}',
    ]
)

WORKER_LOG = "\n".join(
    [
        "2026-12-02 01:04:31,010 INFO livekit.agents: received job request",  # the room before
        "2026-12-02 01:04:31,679 INFO livekit.agents: received job request",
        "2026-12-02 01:04:31,700 INFO livekit: livekit_signaling::signal_stream:53:"
        "livekit_signaling::signal_stream - connecting to ws://127.0.0.1:36019/rtc/v1",
        f"2026-12-02 01:04:31,830 INFO roomscribe.livekit.worker: captioning room {ROOM}",
        "2026-12-02 01:04:31,990 INFO roomscribe.livekit.pipeline: captioning "
        f"{ME}/TR_AMabc (language: worker default)",
        "  a continuation line without a time stamp",
    ]
)


def utc(hms: str) -> float:
    return (
        datetime.strptime(f"2026-12-02 {hms}", "%Y-%m-%d %H:%M:%S.%f")
        .replace(tzinfo=UTC)
        .timestamp()
    )


def local(hms: str) -> float:
    return datetime.strptime(f"2026-12-02 {hms}", "%Y-%m-%d %H:%M:%S.%f").astimezone().timestamp()


def test_server_stages_of_one_room() -> None:
    run = RoomRun(ROOM, ME, join=utc("01:04:31.450"))
    stages = server_stages(server_log_lines(SERVER_LOG), run)
    assert stages == {
        "server: join": pytest.approx(utc("01:04:31.481")),
        "server: job assigned": pytest.approx(utc("01:04:31.688")),
        "server: captioner joins": pytest.approx(utc("01:04:31.734")),
        "server: captioner connected": pytest.approx(utc("01:04:31.801")),
    }


def test_worker_stages_between_this_join_and_the_next() -> None:
    run = RoomRun(ROOM, ME, join=local("01:04:31.450"))
    lines = worker_log_lines(WORKER_LOG)
    assert len(lines) == 5
    stages = worker_stages(lines, run, until=local("01:04:35.000"))
    assert stages == {
        "worker: job request": pytest.approx(local("01:04:31.679")),
        "worker: room connecting": pytest.approx(local("01:04:31.700")),
        "worker: captioning room": pytest.approx(local("01:04:31.830")),
        "worker: captioning track": pytest.approx(local("01:04:31.990")),
    }
    assert worker_stages(lines, run, until=local("01:04:31.600")) == {}


def test_summary_orders_stages_by_median() -> None:
    runs = [RoomRun(f"r{i}", f"s{i}", join=100.0 * i) for i in range(3)]
    for i, run in enumerate(runs):
        run.marks = {"captioner visible": run.join + 0.4 + 0.1 * i, "connected": run.join + 0.1}
    logs = [{"server: job assigned": run.join + 0.25} for run in runs]
    report = summarize(runs, logs, speech_lead_s=0.1)
    assert list(report["stages"]) == ["connected", "server: job assigned", "captioner visible"]
    visible = report["stages"]["captioner visible"]
    assert visible["p50"] == pytest.approx(0.5)
    assert (visible["min"], visible["max"], visible["rooms"]) == (0.4, 0.6, 3)


def test_the_server_is_read_like_every_command_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET", "LIVEKIT_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)

    def settings(*argv: str) -> LiveKitSettings:
        defaults = Settings()
        return server_settings(defaults, build_parser(defaults).parse_args(["a.wav", *argv]))

    assert settings() == LiveKitSettings()  # nothing configured: the local dev server
    monkeypatch.setenv("LIVEKIT_URL", "wss://lk.example")
    monkeypatch.setenv("LIVEKIT_API_KEY", "k")
    monkeypatch.setenv("LIVEKIT_API_SECRET", "s")
    assert settings() == LiveKitSettings("wss://lk.example", "k", "s")
    assert settings("--livekit-url", "ws://10.0.0.2:7880").url == "ws://10.0.0.2:7880"
    monkeypatch.delenv("LIVEKIT_API_SECRET")
    with pytest.raises(SettingsError, match="LIVEKIT_API_SECRET"):
        settings()
