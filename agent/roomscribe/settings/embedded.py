"""Embedded mode (``roomscribe serve`` without LiveKit): the service's and each session's limits."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from roomscribe.settings.fields import CommaList, default_of, setting


@dataclass(frozen=True, slots=True)
class EmbeddedOptions:
    """Embedded mode (``roomscribe serve`` without LiveKit): the service and each session."""

    max_sessions: int = 4
    """Concurrent browser tabs; each also takes one engine stream per audio track."""
    max_sdp_bytes: int = 64 * 1024
    idle_timeout: float = 30.0
    """Seconds: a connected session that receives no audio this long is closed."""
    connect_timeout: float = 20.0
    """Seconds: a session whose peer connection does not come up in this time is closed."""
    ice_servers: tuple[str, ...] = ()
    """STUN/TURN URLs; none are needed when browser and server share a network."""
    channel_grace_s: float = 1.0
    """How long to wait for the client's own ``captions`` channel before opening one."""
    pending_captions: int = 64
    """Captions kept while the data channel is not open yet (oldest interims dropped first)."""
    max_buffered_bytes: int = 1 << 20
    """Above this much unsent data on the channel, interim captions are dropped."""
    finalize_timeout_s: float = 15.0
    drain_timeout_s: float = 2.0
    """How long the last captions may take to reach the peer before it is closed."""


class EmbeddedFields(BaseModel):
    """The embedded mode settings: a part of :class:`~roomscribe.settings.Settings`."""

    max_sessions: int = setting(
        default_of(EmbeddedOptions, "max_sessions"),
        ge=1,
        group="embedded",
        help="concurrent browser tabs",
    )
    idle_timeout: float = setting(
        default_of(EmbeddedOptions, "idle_timeout"),
        gt=0,
        group="embedded",
        help="close a session after this many seconds without audio",
    )
    connect_timeout: float = setting(
        default_of(EmbeddedOptions, "connect_timeout"),
        gt=0,
        group="embedded",
        help="seconds a new peer has to connect",
    )
    max_sdp_bytes: int = setting(
        default_of(EmbeddedOptions, "max_sdp_bytes"),
        ge=1024,
        group="embedded",
        help="largest accepted SDP offer",
    )
    ice_servers: CommaList = setting(
        default_of(EmbeddedOptions, "ice_servers"),
        group="embedded",
        flag="--ice-server",
        repeat=True,
        help="STUN/TURN URL, repeatable; default none (the variable: comma-separated)",
    )

    def embedded(self) -> EmbeddedOptions:
        """Embedded mode: the service's and each session's limits."""
        return EmbeddedOptions(
            max_sessions=self.max_sessions,
            max_sdp_bytes=self.max_sdp_bytes,
            idle_timeout=self.idle_timeout,
            connect_timeout=self.connect_timeout,
            ice_servers=self.ice_servers,
        )
