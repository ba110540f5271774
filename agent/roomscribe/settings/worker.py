"""The agent worker (``roomscribe agent``): its health endpoint, room keys and test faults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from roomscribe.settings.fields import Port, setting


class WorkerFields(BaseModel):
    """The agent worker settings: a part of :class:`~roomscribe.settings.Settings`."""

    health_host: str = setting(
        "127.0.0.1",
        group="worker",
        help="address of the health/metrics endpoint; 0.0.0.0 for a scraper on another host",
    )
    """This machine only, unless set."""
    health_port: Port = setting(
        8081, group="worker", help="port of the worker's HTTP health check, 0 = any free port"
    )
    e2ee_key: str = setting(
        "",
        group="worker",
        help="the shared key of end-to-end encrypted rooms (prefer the variable: command "
        "lines are visible to every user of the machine)",
    )
    """The shared key of end-to-end encrypted rooms (empty: rooms are not encrypted);
    see :mod:`roomscribe.livekit.encryption`."""
    test_fault: Literal["", "die", "hang"] = setting(
        "",
        group="worker",
        help="tests only: SIGUSR1 makes the engine die or hang at its next decode",
    )
    """See :mod:`roomscribe.asr.fault`."""
