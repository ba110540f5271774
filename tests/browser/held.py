"""``e2e/session.mjs`` held open: joined, then told what to wait for while the test acts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

from tests.browser.conftest import WEB_CLIENT


class HeldSession:
    """``e2e/session.mjs`` in ``hold`` mode: joined, waiting for what to look for."""

    def __init__(self, config: dict[str, Any]) -> None:
        self._config = {**config, "hold": True}
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> HeldSession:
        self._proc = await asyncio.create_subprocess_exec(
            "node",
            "e2e/session.mjs",
            json.dumps(self._config),
            cwd=WEB_CLIENT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), 60)
        if json.loads(line or b"{}").get("ready") is not True:
            rest, err = await self._proc.communicate()
            raise AssertionError(
                f"session.mjs did not join:\n{line.decode()}{rest.decode()}{err.decode()}"
            )
        return self

    async def checkpoint(
        self,
        *,
        text: str = "",
        translated: bool = False,
        captioner_states: Sequence[str] = (),
        translate: str | None = None,
        timeout_ms: int,
    ) -> dict[str, Any]:
        """What the pages show once the first one shows what :meth:`report_when` waits
        for (or time is up); the session goes on. ``translated``: a translation shown
        under that caption too. ``translate``: first picked in the first page's
        "Also show in" (``""``: the originals only)."""
        assert self._proc is not None
        assert self._proc.stdin is not None
        assert self._proc.stdout is not None
        until = {
            "text": text,
            "translated": translated,
            "captionerStates": list(captioner_states),
            "timeoutMs": timeout_ms,
            "checkpoint": True,
            **({} if translate is None else {"translate": translate}),
        }
        self._proc.stdin.write(json.dumps(until).encode() + b"\n")
        await self._proc.stdin.drain()
        line = await asyncio.wait_for(self._proc.stdout.readline(), timeout_ms / 1000 + 30)
        report: dict[str, Any] = json.loads(line)
        assert report.get("checkpoint") is True, report
        return report

    async def report_when(
        self,
        *,
        text: str = "",
        ignored: int = 0,
        captioner_states: Sequence[str] = (),
        timeout_ms: int,
    ) -> dict[str, Any]:
        """Once the first page shows a caption containing ``text``, ignored ``ignored``
        streams, and its captioner indicator went through ``captioner_states`` in
        that order (or time is up)."""
        assert self._proc is not None
        until = {
            "text": text,
            "ignored": ignored,
            "captionerStates": list(captioner_states),
            "timeoutMs": timeout_ms,
        }
        out, err = await asyncio.wait_for(
            self._proc.communicate(json.dumps(until).encode() + b"\n"), timeout_ms / 1000 + 30
        )
        report: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
        assert report["ok"], f"browser session failed: {report.get('error')}\n{err.decode()}"
        return report

    async def __aexit__(self, *_: object) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.kill()
            await self._proc.wait()
