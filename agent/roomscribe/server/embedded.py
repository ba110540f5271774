"""Embedded mode: captions over a direct WebRTC connection, no LiveKit server.

The browser sends an SDP offer (with its audio track and a data channel
labelled :data:`roomscribe.protocol.DATA_CHANNEL_LABEL`) to ``POST /api/offer``;
the server answers with ICE fully gathered (no trickle), receives the audio
with aiortc and sends captions back on the data channel. One browser tab is
one :class:`~roomscribe.server.embedded_session.EmbeddedSession`; every tab
shares the process's one recognition engine, and a session captions one audio
track (further audio sections of the offer are answered inactive).

Requests are screened by the app's :class:`~roomscribe.server.security.AccessGuard`
(rate limit, origin, ``application/json`` only, passcode). An unknown ``language``
is a 400: the caller is there to be told (see :mod:`roomscribe.languages`).

The server app builds the engine, then::

    guard = AccessGuard(settings.access())  # shared with POST /api/token
    service = EmbeddedService(engine, settings.embedded(), access=guard)
    await service.start()
    app.include_router(service.router)
    ...
    await service.aclose()   # finalizes every session's last sentence
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from roomscribe.asr.engine import Engine
from roomscribe.languages import UnknownLanguageError, parse_language
from roomscribe.protocol import DATA_CHANNEL_LABEL
from roomscribe.server.embedded_session import (
    CaptionHook,
    EmbeddedSession,
    OfferError,
    SessionStats,
)
from roomscribe.server.names import InvalidNameError, validate_display_name
from roomscribe.server.security import AccessGuard
from roomscribe.server.transport import read_body
from roomscribe.settings.access import AccessOptions
from roomscribe.settings.embedded import EmbeddedOptions

log = logging.getLogger(__name__)

_MAX_MEDIA_SECTIONS = 8
"""Each unbundled section costs an ICE transport; the web client offers two."""
_BODY_SLACK = 4096
"""Room for the JSON fields around the SDP when capping the request body."""


class OfferRequest(BaseModel):
    """Body of ``POST /api/offer``."""

    sdp: str
    type: str = Field(description='always "offer"')
    name: str | None = Field(default=None, description="display name shown with the captions")
    language: str | None = Field(default=None, description='language code, or "auto"')
    passcode: str | None = Field(default=None, description="when /api/config requires one")


class OfferAnswer(BaseModel):
    """Reply of ``POST /api/offer``."""

    sdp: str
    type: str = "answer"
    session_id: str


@dataclass(slots=True)
class EmbeddedStats(SessionStats):
    """Totals since start; a session's caption counts are added when it closes."""

    sessions_opened: int = 0
    sessions_closed: int = 0


class EmbeddedService:
    """Owns every embedded session; ``router`` serves ``POST /api/offer``."""

    def __init__(
        self,
        engine: Engine,
        options: EmbeddedOptions,
        *,
        caption_hook: CaptionHook | None = None,
        access: AccessGuard | None = None,
    ) -> None:
        """``caption_hook(session_id, message)`` sees every caption a session produces.

        ``access`` is the app's guard, shared with its other endpoints; by default
        a guard of its own with the default :class:`AccessOptions` (no passcode).
        """
        self.options = options
        self._access = access if access is not None else AccessGuard(AccessOptions())
        self.stats = EmbeddedStats()
        self._engine = engine
        self._hook = caption_hook
        self._sessions: dict[str, EmbeddedSession] = {}
        self._accepting = False
        self.router = APIRouter()
        self.router.add_api_route(
            "/api/offer",
            self._offer,
            methods=["POST"],
            response_model=OfferAnswer,
            dependencies=[Depends(self._access.screen)],
            summary="Start an embedded caption session from a WebRTC offer",
            openapi_extra={
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": OfferRequest.model_json_schema()}},
                }
            },
        )

    @property
    def sessions(self) -> Mapping[str, EmbeddedSession]:
        """Open sessions by id (read-only view)."""
        return MappingProxyType(self._sessions)

    async def start(self) -> None:
        self._accepting = True

    async def aclose(self) -> None:
        """Refuse new offers; close every session, finalizing its last sentence."""
        self._accepting = False
        await asyncio.gather(*(s.aclose() for s in list(self._sessions.values())))

    async def __aenter__(self) -> EmbeddedService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- POST /api/offer -----------------------------------------------------------

    async def _offer(self, request: Request) -> OfferAnswer:
        offer = _parse_offer(await read_body(request, self.options.max_sdp_bytes + _BODY_SLACK))
        proxy_name = self._access.authorize(request, offer.passcode)
        _check_sdp(offer.sdp, self.options.max_sdp_bytes)
        try:
            language = parse_language(offer.language)
        except UnknownLanguageError as exc:
            raise HTTPException(400, str(exc)) from exc
        speaker = proxy_name or _speaker(offer.name)
        if not self._accepting:
            raise HTTPException(503, "the caption service is not running")
        if len(self._sessions) >= self.options.max_sessions:
            raise HTTPException(
                503, f"all {self.options.max_sessions} caption sessions are in use; try later"
            )
        session = EmbeddedSession(
            secrets.token_urlsafe(9),
            self._engine,
            speaker=speaker,
            language=language,
            options=self.options,
            on_closed=self._on_session_closed,
            caption_hook=self._hook,
        )
        self._sessions[session.session_id] = session  # reserve the slot before awaiting
        self.stats.sessions_opened += 1
        try:
            async with asyncio.timeout(self.options.connect_timeout):
                answer = await session.answer(offer.sdp)
        except OfferError as exc:
            await session.aclose(f"offer refused: {exc.detail}")
            raise HTTPException(exc.status, exc.detail) from exc
        except TimeoutError as exc:
            await session.aclose("answer timed out")
            raise HTTPException(504, "timed out preparing the WebRTC answer") from exc
        except BaseException:
            await asyncio.shield(session.aclose("offer failed"))
            raise
        if session.closed:  # the service shut down while the answer was prepared
            raise HTTPException(503, "the caption service is shutting down")
        log.info("session %s started for %r", session.session_id, speaker)
        return OfferAnswer(sdp=answer, session_id=session.session_id)

    def _on_session_closed(self, session: EmbeddedSession) -> None:
        if self._sessions.pop(session.session_id, None) is None:
            return
        self.stats.sessions_closed += 1
        self.stats.add(session.stats)


def _parse_offer(body: bytes) -> OfferRequest:
    try:
        data: Any = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(400, f"body must be JSON {{sdp, type}}: {exc}") from exc
    if not isinstance(data, dict):
        raise HTTPException(422, 'body must be a JSON object {"sdp": ..., "type": "offer"}')
    for key in ("sdp", "type"):
        if not isinstance(data.get(key), str):
            raise HTTPException(422, f"field {key!r} is required and must be a string")
    for key in ("name", "language", "passcode"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise HTTPException(422, f"field {key!r} must be a string")
    if data["type"] != "offer":
        raise HTTPException(400, f'type must be "offer", not {str(data["type"])[:20]!r}')
    return OfferRequest(
        sdp=data["sdp"],
        type="offer",
        name=data.get("name"),
        language=data.get("language"),
        passcode=data.get("passcode"),
    )


def _speaker(name: str | None) -> str:
    if name is None or not name.strip():
        return "Guest"
    try:
        return validate_display_name(name)
    except InvalidNameError as exc:
        raise HTTPException(400, str(exc)) from exc


def _check_sdp(sdp: str, limit: int) -> None:
    size = len(sdp.encode())
    if size > limit:
        raise HTTPException(413, f"SDP offer is {size} bytes; the limit is {limit}")
    media = [
        line.split()[0][2:] for line in sdp.splitlines() if line.startswith("m=") and " " in line
    ]
    if not sdp.lstrip().startswith("v=0") or not media:
        raise HTTPException(400, "sdp is not an SDP offer (expected 'v=0' and 'm=' lines)")
    if len(media) > _MAX_MEDIA_SECTIONS:
        raise HTTPException(
            400, f"the offer has {len(media)} media sections; at most {_MAX_MEDIA_SECTIONS}"
        )
    if "audio" not in media:
        raise HTTPException(
            400, f"the offer has no audio (m=audio) section, only: {', '.join(media)}"
        )
    if "application" not in media:
        raise HTTPException(
            400,
            f"the offer has no data channel: create an RTCDataChannel labelled "
            f"{DATA_CHANNEL_LABEL!r} before createOffer()",
        )
