"""The web server's one LiveKit server API client, and one mapping of its errors.

``serve`` in LiveKit mode talks to the server API for three things (tokens with
a dispatch, a member's spoken language, a room's vocabulary); they share this
client, and a failed call becomes the same :class:`JoinError` everywhere: 502
when the server refused it, 503 when it could not be reached.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from livekit import api

from roomscribe.server.token import JoinError
from roomscribe.settings.livekit import LiveKitSettings


class LiveKitAdmin:
    """``start()`` / ``aclose()`` around one :class:`livekit.api.LiveKitAPI`."""

    def __init__(self, settings: LiveKitSettings) -> None:
        self.settings = settings
        self._client: api.LiveKitAPI | None = None

    async def start(self) -> None:
        s = self.settings
        self._client = api.LiveKitAPI(s.url, s.api_key, s.api_secret)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    @asynccontextmanager
    async def calls(self) -> AsyncIterator[api.LiveKitAPI]:
        """The client, with its errors mapped to :class:`JoinError` (502 / 503)."""
        if self._client is None:
            raise RuntimeError("LiveKitAdmin is not started")
        try:
            yield self._client
        except api.TwirpError as e:
            raise JoinError(f"LiveKit server refused the request: {e.message}", 502) from e
        except (aiohttp.ClientError, TimeoutError) as e:
            raise JoinError(f"LiveKit server at {self.settings.url} is unreachable", 503) from e
