"""The LiveKit server: where it is, its keys, and the binary ``roomscribe dev`` starts."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from roomscribe.settings.fields import CHECKOUT, SettingsError, UserPath, setting


@dataclass(frozen=True, slots=True)
class LiveKitSettings:
    """The LiveKit server: where it is and the keys that sign its tokens.

    The defaults are ``livekit-server --dev`` on this machine (tests, benchmarks);
    the CLI builds this from :class:`~roomscribe.settings.Settings`
    (:meth:`LiveKitFields.livekit`)."""

    url: str = "ws://127.0.0.1:7880"
    api_key: str = "devkey"
    api_secret: str = "secret"
    public_url: str = ""
    """Where browsers reach the server, when not at ``url`` (which the agent and
    the token service use, e.g. a loopback or cluster-internal address)."""

    @property
    def browser_url(self) -> str:
        return self.public_url or self.url


class LiveKitFields(BaseModel):
    """The LiveKit settings: a part of :class:`~roomscribe.settings.Settings`.

    They keep LiveKit's own variable names (their aliases)."""

    livekit_url: str = setting(
        "",
        validation_alias="LIVEKIT_URL",
        group="livekit",
        help="LiveKit server URL; empty: serve runs in embedded mode",
    )
    livekit_public_url: str = setting(
        "",
        validation_alias="LIVEKIT_PUBLIC_URL",
        group="livekit",
        help="the LiveKit URL handed to browsers, if not --livekit-url",
    )
    api_key: str = setting(
        "",
        validation_alias="LIVEKIT_API_KEY",
        group="livekit",
        help="API key for tokens and agent registration",
    )
    api_secret: str = setting(
        "",
        validation_alias="LIVEKIT_API_SECRET",
        group="livekit",
        help="API secret of --api-key; prefer the environment",
    )
    livekit_server: UserPath = setting(
        CHECKOUT / "bin" / "livekit-server", group="dev", help="livekit-server binary"
    )

    def livekit(self) -> LiveKitSettings | None:
        """The LiveKit server, or ``None`` when none is configured."""
        if not self.livekit_url:
            return None
        if not self.api_key or not self.api_secret:
            raise SettingsError(
                "LIVEKIT_URL is set but LIVEKIT_API_KEY / LIVEKIT_API_SECRET are not"
            )
        return LiveKitSettings(
            url=self.livekit_url,
            api_key=self.api_key,
            api_secret=self.api_secret,
            public_url=self.livekit_public_url,
        )
