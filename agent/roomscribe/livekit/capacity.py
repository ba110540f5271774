"""Tracks waiting for a free engine stream, across every room of one worker.

The worker's rooms share one engine, so a stream released in one room is a
stream for a speaker refused in any other. Each :class:`RoomCaptioner` keeps
its own waiting tracks and joins the worker's :class:`CapacityWaiters`; when a
stream is released anywhere, every room with waiting tracks is told (in its own
event loop: rooms run in their own threads) and tries them again. Whoever
starts first gets the stream; the others keep waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Room:
    loop: asyncio.AbstractEventLoop
    waiting: Callable[[], int]
    retry: Callable[[], None]


class CapacityWaiters:
    """The rooms of one worker, each with a count of tracks waiting for capacity."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # rooms join and leave from their own threads
        self._rooms: dict[object, _Room] = {}

    def join(self, key: object, *, waiting: Callable[[], int], retry: Callable[[], None]) -> None:
        """Register a room: ``waiting()`` counts its waiting tracks, ``retry()`` tries
        them again; both are called in the event loop running now (``retry`` through
        ``call_soon_threadsafe``, ``waiting`` from any thread: it must only read)."""
        with self._lock:
            self._rooms[key] = _Room(asyncio.get_running_loop(), waiting, retry)

    def leave(self, key: object) -> None:
        with self._lock:
            self._rooms.pop(key, None)

    @property
    def waiting(self) -> int:
        """Tracks waiting in every room (the ``roomscribe_tracks_waiting`` gauge)."""
        with self._lock:
            rooms = list(self._rooms.values())
        return sum(room.waiting() for room in rooms)

    def released(self) -> None:
        """A stream was released: every room with waiting tracks tries them again."""
        with self._lock:
            rooms = list(self._rooms.values())
        for room in rooms:
            if room.waiting() and not room.loop.is_closed():
                # its loop may close meanwhile (RuntimeError): the room is gone then
                with contextlib.suppress(RuntimeError):
                    room.loop.call_soon_threadsafe(room.retry)
