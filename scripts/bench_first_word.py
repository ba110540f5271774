"""First word in a fresh room: is it captioned, and how soon is the first caption?

Starts a private stack (livekit-server, ``roomscribe agent --model tiny.en``,
``roomscribe serve``), then opens ``--rooms`` fresh rooms one after another,
each with a new Chromium page (``web-client/e2e/first-word.mjs``) whose fake
microphone says "After the tone say your busy message and then press the pound
key." from its very first sample (cut from ``allison-a.wav``), then 3 s of
silence. A room counts when its first final caption starts with "After". Times
are from the click on Join. A measurement: it prints numbers and fails on nothing.

    flock /tmp/cpu.lock env PYTHONPATH=$PWD/agent .venv/bin/python scripts/bench_first_word.py

``--url`` measures an already running ``roomscribe serve`` (LiveKit mode) instead.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.fixtures starts the stack the tests use

from tests.browser.conftest import (  # noqa: E402
    FIRST_WORD,
    first_word_of,
    first_word_wav,
    open_fresh_rooms,
)
from tests.fixtures.livekit import (  # noqa: E402
    free_port,
    running_agent,
    running_livekit_server,
    stop_process,
)


@contextmanager
def private_stack(tmp: Path, model: str) -> Iterator[str]:
    """livekit-server, one agent and ``roomscribe serve``; yields serve's URL."""
    with (
        running_livekit_server(tmp) as server,
        running_agent(server, tmp / "agent.log", model=model),
    ):
        port = free_port()
        env = {**os.environ, **server.env(), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "roomscribe.cli", "serve", "--port", str(port)]
        with (tmp / "serve.log").open("wb") as log:
            proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}api/config", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((tmp / "serve.log").read_text()) from None
                    time.sleep(0.2)
            yield url
        finally:
            stop_process(proc)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def pct(key: str) -> dict[str, float] | None:
        values = [r[key] / 1000 for r in runs if r[key] is not None]
        if not values:
            return None
        return {
            "p50": round(float(np.percentile(values, 50)), 2),
            "p90": round(float(np.percentile(values, 90)), 2),
            "max": round(max(values), 2),
            "n": len(values),
        }

    return {
        "rooms": len(runs),
        "first_word_captioned": sum(first_word_of(r["firstFinal"]) == FIRST_WORD for r in runs),
        "first_caption_s": pct("captionMs"),
        "first_final_s": pct("finalMs"),
        "mic_live_s": pct("liveMs"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--url", help="a running roomscribe serve (default: start a private one)")
    parser.add_argument("--eval-dir", type=Path, default=ROOT / "artifacts" / "eval")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-first-word-") as tmp_dir:
        tmp = Path(tmp_dir)
        audio = first_word_wav(args.eval_dir, tmp / "speech.wav")
        tag = secrets.token_hex(3)
        rooms = [f"first-word-{tag}-{i}" for i in range(args.rooms)]
        with private_stack(tmp, args.model) if args.url is None else _given(args.url) as url:
            runs = open_fresh_rooms(url, rooms, audio)
    result = {**summary(runs), "runs": runs}
    if args.json:
        print(json.dumps(result))
        return 0
    for r in runs:
        print(
            f"{r['room']}: caption {r['captionMs']} ms, final {r['finalMs']} ms,"
            f" live {r['liveMs']} ms, {r['firstFinal']!r}"
        )
    print(
        f"first word {FIRST_WORD!r} captioned in {result['first_word_captioned']} of"
        f" {result['rooms']} fresh rooms"
    )
    for key in ("first_caption_s", "first_final_s", "mic_live_s"):
        print(f"{key}: {result[key]}")
    return 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    sys.exit(main())
