"""``livekit-server --dev`` on this machine, with ``roomscribe agent`` beside it.

``roomscribe dev`` (what ``make run`` starts) and the listener benchmark's
``--start`` both run the two; how they are started and reached is written here
once. The address and keys are :class:`~roomscribe.settings.livekit.LiveKitSettings`'
defaults, which are the dev server's.
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from roomscribe.settings.livekit import LiveKitSettings

SETTINGS = LiveKitSettings()
"""Where ``livekit-server --dev`` listens and the keys it accepts."""
PORT = 7880
HTTP_URL = f"http://127.0.0.1:{PORT}"
REGISTERED = b"registered worker"
"""What livekit-agents logs once livekit-server may dispatch jobs to the worker."""


def command(binary: Path) -> list[str]:
    """The server's command line: dev keys, loopback only."""
    return [str(binary), "--dev", "--bind", "127.0.0.1"]


def agent_env() -> dict[str, str]:
    """This process's environment with the dev server's address and keys, for the agent."""
    return {
        **os.environ,
        "LIVEKIT_URL": SETTINGS.url,
        "LIVEKIT_API_KEY": SETTINGS.api_key,
        "LIVEKIT_API_SECRET": SETTINGS.api_secret,
    }


def answers(url: str) -> bool:
    """Something answers an HTTP GET of ``url`` within a second."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def running() -> bool:
    """A LiveKit server answers at the dev server's address."""
    return answers(HTTP_URL + "/")
