"""Join a room without letting a cancelled join take the whole process down.

``rtc.Room.connect`` is not cancellation-safe (livekit/python-sdks#784): the
FFI answers the connect, then waits for a ``ReadyForRoomEventRequest`` that
only the last line of ``connect`` sends. Cancel the coroutine before that line
and, 15 s later, the FFI reports a panic, which ``livekit.rtc`` answers with
``SIGTERM`` to its own process. In a worker that is every room it captions,
for one room whose join was slow (a job shut down while still joining: the room
was deleted, or the WebRTC connection needed a retry).

:func:`join` therefore lets a join it was cancelled during run to its end, on
the same event loop, then leaves the room again and re-raises the cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

FINISH_S = 60.0
"""How long a cancelled join may take to finish (the SDK's own connect retries
included) before it is abandoned after all."""


async def join(
    connect: Awaitable[None],
    leave: Callable[[], Awaitable[None]],
    *,
    finish_s: float = FINISH_S,
) -> None:
    """Await ``connect``; if cancelled meanwhile, let it finish, ``leave()``, re-raise."""
    joining = asyncio.ensure_future(connect)
    try:
        await asyncio.shield(joining)
    except asyncio.CancelledError:
        log.info("a room join was cancelled; finishing it before leaving")
        done, _ = await asyncio.wait({joining}, timeout=finish_s)
        if not done:
            log.error("a cancelled room join did not finish in %.0f s", finish_s)
        elif not joining.cancelled() and joining.exception() is None:
            with contextlib.suppress(Exception):
                await leave()
        raise
