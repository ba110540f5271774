"""Keep a long-running process's resident memory from creeping up (glibc only).

A worker allocates from many threads at once: the engine thread (CTranslate2
batches of changing sizes, VAD), one thread per room job, the LiveKit FFI
callbacks. glibc gives each contending thread its own 64 MB malloc arena and
returns little of a fragmented arena to the system, so RSS grew by tens of MB
an hour in the soak with nothing leaking. Fewer arenas and an occasional
``malloc_trim`` hand the free pages back. Elsewhere (musl, macOS) both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from functools import cache

log = logging.getLogger(__name__)

ARENAS = 2
"""Arenas for the whole process (glibc's default is 8 per core)."""

_M_ARENA_MAX = -8  # glibc malloc.h


@cache
def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 - glibc has it, musl does not
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap the malloc arenas threads created from now on may use; call it before
    starting threads. ``False`` where the C library has no such setting."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas))


def trim() -> bool:
    """Return free heap pages to the system; ``True`` if some were released."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.malloc_trim(0))
