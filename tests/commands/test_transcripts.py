"""``roomscribe transcripts list|export|delete`` on a real store, in a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roomscribe.cli import main
from roomscribe.store import RecordOptions, RecordWriter, SqliteStore
from roomscribe.store.redis import RedisStore
from tests.fixtures.redis import running_redis
from tests.store.helpers import segment


def transcripts(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ROOMSCRIBE_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "roomscribe.cli", "transcripts", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,  # no .env of the checkout's
        timeout=60,
    )


def test_list_export_delete_and_retention(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = SqliteStore(data)
    store.create()
    now = time.time()
    store.write(
        [
            segment(1, "Good morning.", room="standup", final_at=now - 20),
            segment(2, "Shall we start?", room="standup", final_at=now - 10),
            segment(1, "Good morning, revised.", room="standup", revision=1, final_at=now),
            segment(3, "Old news.", room="retro", final_at=now - 2 * 86400),
        ]
    )

    listed = transcripts(data, "list")
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[:2] for line in listed.stdout.splitlines()] == [
        ["standup", "2 segment(s)"]
    ]  # retro is past the 24 h retention: deleted, not listed
    assert store.segments("retro") == []

    txt = transcripts(data, "export", "standup")
    assert txt.stdout == (
        "[00:00] Ada Lovelace: Good morning, revised.\n[00:10] Ada Lovelace: Shall we start?\n"
    )
    rows = json.loads(transcripts(data, "export", "standup", "--format", "json").stdout)
    assert [r["text"] for r in rows] == ["Good morning, revised.", "Shall we start?"]
    assert transcripts(data, "export", "retro").returncode == 1

    deleted = transcripts(data, "delete", "standup")
    assert deleted.returncode == 0
    assert "deleted 2 segment(s)" in deleted.stderr
    assert store.segments("standup") == []
    assert transcripts(data, "export").returncode == 2  # no room: one line, exit 2


def test_the_writer_purges_expired_segments_when_it_starts(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path)
    store.create()
    store.write([segment(1, final_at=time.time() - 3 * 3600), segment(2)])
    writer = RecordWriter(RecordOptions(data_dir=tmp_path, retention_s=3600))
    writer.start()
    writer.close()
    assert [s.segment_id for s in store.segments("standup")] == [segment(2).segment_id]


def test_the_same_commands_on_a_redis_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    with running_redis(tmp_path / "redis", tmp_path / "redis.log") as server:
        store = RedisStore(server.url, retention_s=86400)
        now = time.time()
        store.write(
            [
                segment(1, "Good morning.", final_at=now - 20),
                segment(2, "Shall we start?", final_at=now - 10),
                segment(1, "Good morning, revised.", revision=1, final_at=now),
            ]
        )
        assert main(["transcripts", "list", "--store", server.url]) == 0
        assert capsys.readouterr().out.split("\t")[:2] == ["standup", "2 segment(s)"]
        assert main(["transcripts", "export", "standup", "--store", server.url]) == 0
        assert capsys.readouterr().out == (
            "[00:00] Ada Lovelace: Good morning, revised.\n[00:10] Ada Lovelace: Shall we start?\n"
        )
        assert main(["transcripts", "delete", "standup", "--store", server.url]) == 0
        assert store.segments("standup") == []
