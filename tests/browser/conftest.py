"""Browser-test fixtures: the built web client, fake-mic audio, ``roomscribe serve``, Chromium.

Chromium is driven by ``web-client/e2e/session.mjs`` (playwright-core, Debian's
``/usr/bin/chromium``, never a downloaded browser); these fixtures start the
servers and hand the script its configuration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from filelock import FileLock
from numpy.typing import NDArray

from tests.conftest import ROOT, read_wav
from tests.fixtures.livekit import LiveKitServer, free_port, stop_process

WEB_CLIENT = ROOT / "web-client"
CHROMIUM = Path(os.environ.get("ROOMSCRIBE_CHROMIUM", "/usr/bin/chromium"))

CUT_SECONDS = 25.0
"""Fake-mic length: the first six utterances of allison-a, ending in a 4 s gap."""
FAKE_MIC_RATE = 48_000


@dataclass(frozen=True, slots=True)
class FakeMic:
    speech: Path
    silence: Path
    reference: str
    """Reference text of the utterances inside the cut."""


def _write_wav(path: Path, samples: NDArray[np.float32]) -> None:
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(FAKE_MIC_RATE)
        w.writeframes(pcm.tobytes())


@pytest.fixture(scope="session")
def fake_mic(eval_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> FakeMic:
    """48 kHz WAVs for Chromium's fake microphone: a speech cut and silence."""
    tmp = tmp_path_factory.mktemp("fake-mic")
    audio = read_wav(eval_dir / "allison-a.wav")[: int(CUT_SECONDS * 16_000)]
    # Linear upsampling is plenty for speech bound for a 16 kHz recognizer.
    t = np.arange(len(audio) * FAKE_MIC_RATE // 16_000) * (16_000 / FAKE_MIC_RATE)
    speech = np.interp(t, np.arange(len(audio)), audio).astype(np.float32)
    _write_wav(tmp / "speech.wav", speech)
    _write_wav(tmp / "silence.wav", np.zeros(FAKE_MIC_RATE * 5, dtype=np.float32))
    utterances = json.loads((eval_dir / "allison-a.json").read_text())["utterances"]
    reference = " ".join(u["text"] for u in utterances if u["end"] <= CUT_SECONDS)
    return FakeMic(tmp / "speech.wav", tmp / "silence.wav", reference)


FIRST_WORD = "after"
"""First word of allison-a's second utterance, the one :func:`first_word_wav` says."""


def first_word_wav(eval_dir: Path, out: Path, silence_s: float = 3.0) -> Path:
    """A fake mic that says "After the tone say your busy message..." from its very
    first sample (allison-a's second utterance from its first loud 10 ms), then silence."""
    utt = json.loads((eval_dir / "allison-a.json").read_text())["utterances"][1]
    audio = read_wav(eval_dir / "allison-a.wav")
    segment = audio[int(utt["start"] * 16_000) - 3200 : int(utt["end"] * 16_000)]
    frames = segment[: len(segment) // 160 * 160].reshape(-1, 160)
    onset = int(np.argmax(np.sqrt((frames**2).mean(axis=1)) > 0.02)) * 160
    speech = np.concatenate([segment[onset:], np.zeros(int(silence_s * 16_000), np.float32)])
    t = np.arange(len(speech) * FAKE_MIC_RATE // 16_000) * (16_000 / FAKE_MIC_RATE)
    _write_wav(out, np.interp(t, np.arange(len(speech)), speech).astype(np.float32))
    return out


def first_word_of(text: str | None) -> str:
    words = (text or "").lower().split()
    return words[0].strip(".,!?;:") if words else ""


def open_fresh_rooms(
    url: str, rooms: list[str], audio: Path, timeout_ms: int = 20_000
) -> list[dict[str, Any]]:
    """Runs ``e2e/first-word.mjs``: one new page per fresh room, in order; per room
    its first caption and first final and when they showed (ms after Join)."""
    config = {"url": url, "rooms": rooms, "audio": str(audio), "timeoutMs": timeout_ms}
    done = subprocess.run(
        ["node", "e2e/first-word.mjs", json.dumps(config)],
        cwd=WEB_CLIENT,
        capture_output=True,
        text=True,
        timeout=60 + len(rooms) * (timeout_ms / 1000 + 10),
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {"ok": False}
    assert report["ok"], f"first-word.mjs failed: {report.get('error')}\n{done.stderr}"
    runs: list[dict[str, Any]] = report["rooms"]
    return runs


@pytest.fixture(scope="session")
def first_word_mic(eval_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`first_word_wav` for Chromium's fake microphone."""
    return first_word_wav(eval_dir, tmp_path_factory.mktemp("first-word") / "speech.wav")


@pytest.fixture(scope="session")
def web_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``web-client/dist``, rebuilt from the current sources once per run (the
    pytest-xdist workers share a lock and a mark, so none serves a half-written
    bundle)."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    if not (WEB_CLIENT / "node_modules").is_dir():
        pytest.fail("web-client/node_modules is missing: run make setup", pytrace=False)
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the run's directory, above the worker's
        shared = shared.parent
    with FileLock(shared / "web-client-build.lock"):
        built = shared / "web-client-built"
        if not built.exists():  # once per run: another worker may be serving it already
            subprocess.run(["npm", "run", "--silent", "build"], cwd=WEB_CLIENT, check=True)
            built.touch()
    return WEB_CLIENT / "dist"


ServeFactory = Callable[..., str]


@pytest.fixture(scope="module")
def roomscribe_serve(
    web_client: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServeFactory]:
    """Starts ``roomscribe serve ARGS`` on a free port; returns its base URL."""
    procs: list[subprocess.Popen[bytes]] = []
    tmp_path = tmp_path_factory.mktemp("serve")

    def start(*args: str, livekit: LiveKitServer | None = None) -> str:
        port = free_port()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for name in ("LIVEKIT_URL", "LIVEKIT_API_KEY", "LIVEKIT_API_SECRET"):
            env.pop(name, None)
        if livekit is not None:
            env.update(livekit.env())
        log_path = tmp_path / f"serve-{port}.log"
        cmd = [sys.executable, "-m", "roomscribe.cli", "serve", "--port", str(port), *args]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}/"
        _wait_for_config(f"{url}api/config", proc, log_path)
        return url

    try:
        yield start
    finally:
        for proc in procs:
            stop_process(proc)


def _wait_for_config(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Embedded mode loads the model before it listens: allow it a while."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"roomscribe serve exited:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer:\n{log_path.read_text(errors='replace')}")


def run_session(config: dict[str, Any], timeout: float = 150) -> dict[str, Any]:
    """Runs ``e2e/session.mjs`` with ``config``; returns its JSON report."""
    done = subprocess.run(
        ["node", "e2e/session.mjs", json.dumps(config)],
        cwd=WEB_CLIENT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        detail = f"{done.stdout}\n{done.stderr}"
        raise AssertionError(f"session.mjs printed no report:\n{detail}") from None
    assert report["ok"], f"browser session failed: {report.get('error')}\n{done.stderr}"
    return report
