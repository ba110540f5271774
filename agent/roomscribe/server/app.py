"""The web server: the built web client plus a small JSON API.

* ``GET /`` - the web client from ``web-client/dist`` (a help page if it is not built).
* ``GET /api/config`` - ``{"mode": "livekit", "livekit_url": ..., "passcode_required": bool}``
  or ``{"mode": "embedded", "passcode_required": bool}``.
* ``POST /api/token`` - LiveKit mode: ``{room, name, passcode?}`` -> ``{token, url, identity,
  room}``, with the captioning agent dispatched to the room; the server chooses the identity.
* ``POST /api/vocabulary`` - LiveKit mode: ``{room, terms, token, passcode?}`` ->
  ``{room, terms}``; sets the room's vocabulary in its metadata. ``token`` is the
  caller's LiveKit join token for that room (see
  :mod:`~roomscribe.server.room_vocabulary`).
* ``POST /api/language`` - LiveKit mode: ``{room, language, token, passcode?}`` ->
  ``{room, language}``; sets the caller's spoken language (guests may not set
  their own attributes, see :mod:`~roomscribe.server.room_members`).
* ``POST /api/translation`` - LiveKit mode: ``{room, target, token, passcode?}`` ->
  ``{room, target}``; the caller also wants captions in ``target`` (``en``), or
  no longer (``""``).
* ``GET /api/rooms/{room}/transcript?format=txt|srt|vtt|json`` - the room's
  stored transcript (:mod:`roomscribe.store`), as a download; the passcode, if
  any, in the ``X-Roomscribe-Passcode`` header. 404 when none is kept.
* ``POST /api/offer`` - embedded mode: served by
  :class:`~roomscribe.server.embedded.EmbeddedService`.
* ``GET /healthz``; ``GET /metrics`` (Prometheus, see :mod:`roomscribe.metrics`).

Every request passes the ``Host`` check and the trusted-proxy handling of
:mod:`roomscribe.server.transport` (serve the app with uvicorn's own proxy
headers off: ``proxy_headers=False``). Every ``POST`` endpoint goes through one
:class:`~roomscribe.server.security.AccessGuard` (limits, transport, origin,
content type; ``GET`` transcripts: all but the type) before its body is read, then reads at most
:data:`~roomscribe.server.transport.MAX_JSON_BYTES` of it (413), then the
guard checks the passcode or trusted proxy header.

In embedded mode the app loads the recognition engine in its lifespan and closes
it (after every session's last captions) on shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.types import DecoratedCallable
from pydantic import BaseModel, Field
from starlette.routing import BaseRoute, Mount

from roomscribe import metrics
from roomscribe.formats import MEDIA_TYPES, TranscriptFormat, render_transcript, transcript_lines
from roomscribe.server.exposure import in_networks
from roomscribe.server.livekit_admin import LiveKitAdmin
from roomscribe.server.names import MAX_NAME_LENGTH
from roomscribe.server.room_members import RoomMembers
from roomscribe.server.room_vocabulary import RoomVocabularyService
from roomscribe.server.security import PASSCODE_HEADER, AccessGuard
from roomscribe.server.token import ROOM_PATTERN, JoinError, TokenService
from roomscribe.server.transport import read_json, secure_transport
from roomscribe.settings.access import AccessOptions
from roomscribe.settings.asr import AsrOptions
from roomscribe.settings.embedded import EmbeddedOptions
from roomscribe.settings.livekit import LiveKitSettings
from roomscribe.store import RecordOptions, horizon, open_store

log = logging.getLogger(__name__)

S = TypeVar("S")

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>roomscribe</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>roomscribe: the web client is not built</h1>
<p>The server is running, but <code>{path}</code> does not exist.</p>
<p>Build it with <code>make setup</code>, or
<code>cd web-client &amp;&amp; npm ci &amp;&amp; npm run build</code>, then reload.</p>
</body></html>
"""


@dataclass(frozen=True, slots=True)
class AppOptions:
    """``livekit`` set: LiveKit mode. Otherwise embedded mode with ``asr`` and ``embedded``."""

    web_dir: Path
    """The built web client (``web-client/dist``)."""
    livekit: LiveKitSettings | None = None
    asr: AsrOptions | None = None
    embedded: EmbeddedOptions | None = None
    access: AccessOptions = field(default_factory=AccessOptions)
    """Who may use ``POST /api/token`` and ``POST /api/offer``."""
    record: RecordOptions | None = None
    """The transcript store the caption workers write (``None``: none is kept)."""

    @property
    def mode(self) -> str:
        return "livekit" if self.livekit is not None else "embedded"


Room = Annotated[str, Field(json_schema_extra={"pattern": ROOM_PATTERN.pattern})]
JoinToken = Annotated[str, Field(description="the caller's LiveKit join token for this room")]
Passcode = Annotated[str | None, Field(description="when /api/config requires one")]


class TokenRequest(BaseModel):
    """Body of ``POST /api/token``; the identity is always chosen by the server."""

    # Documented, not enforced by pydantic: validate_join explains a bad value better.
    room: str = Field(
        description="1-64 letters, digits, '-' or '_'",
        json_schema_extra={"pattern": ROOM_PATTERN.pattern},
    )
    name: str = Field(
        default="",
        description="display name, 1-64 characters (the proxy header's, if trusted)",
        json_schema_extra={"maxLength": MAX_NAME_LENGTH},
    )
    passcode: Passcode = None


class TokenResponse(BaseModel):
    token: str
    url: str
    identity: str
    room: str


class VocabularyRequest(BaseModel):
    """Body of ``POST /api/vocabulary``."""

    room: Room
    # Limits documented, enforced by roomscribe.vocabulary (clearer messages than pydantic's).
    terms: list[str] = Field(
        description="at most 30 terms of 1-40 letters, digits, spaces and - ' . &; "
        "600 characters in all; [] clears the vocabulary",
        json_schema_extra={"maxItems": 30},
    )
    token: JoinToken
    passcode: Passcode = None


class VocabularyResponse(BaseModel):
    room: str
    terms: list[str]


class LanguageRequest(BaseModel):
    """Body of ``POST /api/language``."""

    room: Room
    language: str = Field(description="a Whisper language code, or 'auto'", max_length=16)
    token: JoinToken
    passcode: Passcode = None


class LanguageResponse(BaseModel):
    room: str
    language: str


class TranslationRequest(BaseModel):
    """Body of ``POST /api/translation``."""

    room: Room
    target: str = Field(description="'en', or '' for the original only", max_length=16)
    token: JoinToken
    passcode: Passcode = None


class TranslationResponse(BaseModel):
    room: str
    target: str


def create_app(options: AppOptions) -> FastAPI:
    admin = LiveKitAdmin(options.livekit) if options.livekit is not None else None
    tokens = TokenService(admin) if admin is not None else None
    members = RoomMembers(admin) if admin is not None else None
    vocabularies = RoomVocabularyService(members) if members is not None else None
    guard = AccessGuard(options.access)
    record = options.record
    store = open_store(record) if record is not None else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if store is not None:
            await asyncio.to_thread(store.create)
        if admin is not None:
            await admin.start()
            try:
                yield
            finally:
                await admin.aclose()
        else:
            async with _embedded(app, options, guard):
                yield

    app = FastAPI(title="roomscribe", lifespan=lifespan)
    secure_transport(app, options.access)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        engine = getattr(app.state, "engine", None)  # embedded mode; a dead engine: restart us
        if engine is not None and not engine.healthy:
            raise HTTPException(503, "the recognition engine stopped")
        return {"status": "ok", "mode": options.mode}

    @app.get("/metrics", response_class=PlainTextResponse, include_in_schema=False)
    async def prometheus_metrics(request: Request) -> PlainTextResponse:
        # how busy the service is and how many rooms it has: not for everyone
        if not in_networks(AccessGuard.client_address(request), options.access.metrics_from):
            raise HTTPException(404, "Not Found")
        return PlainTextResponse(metrics.exposition(), media_type=metrics.CONTENT_TYPE)

    @app.get("/api/config")
    async def config() -> dict[str, str | bool]:
        required = options.access.passcode_required
        if options.livekit is None:
            return {"mode": "embedded", "passcode_required": required}
        return {
            "mode": "livekit",
            "livekit_url": options.livekit.browser_url,
            "passcode_required": required,
        }

    @app.exception_handler(JoinError)
    async def join_refused(request: Request, e: JoinError) -> JSONResponse:
        # what LiveKit or the room said, as every route's HTTPException would say it
        return JSONResponse({"detail": e.message}, status_code=e.status)

    def post_json(
        path: str, model: type[BaseModel]
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """A ``POST`` route behind :meth:`AccessGuard.screen` whose handler reads ``model``.

        The handler reads the body itself, after the screen: FastAPI would read
        and parse a declared body model before any dependency runs."""
        return app.post(path, dependencies=[Depends(guard.screen)], openapi_extra=_body(model))

    @post_json("/api/token", TokenRequest)
    async def token(request: Request) -> TokenResponse:
        body = await read_json(request, TokenRequest)
        proxy_name = guard.authorize(request, body.passcode)
        service = _livekit_only(tokens, "use POST /api/offer")
        grant = await service.join(body.room, proxy_name or body.name)
        return TokenResponse(
            token=grant.token, url=grant.url, identity=grant.identity, room=grant.room
        )

    @post_json("/api/vocabulary", VocabularyRequest)
    async def vocabulary(request: Request) -> VocabularyResponse:
        body = await read_json(request, VocabularyRequest)
        guard.authorize(request, body.passcode)
        service = _livekit_only(vocabularies, "rooms have no vocabulary")
        terms = await service.set_terms(body.room, body.token, body.terms)
        return VocabularyResponse(room=body.room, terms=list(terms))

    @post_json("/api/language", LanguageRequest)
    async def language(request: Request) -> LanguageResponse:
        body = await read_json(request, LanguageRequest)
        guard.authorize(request, body.passcode)
        service = _livekit_only(members, "set it on the data channel")
        value = await service.set_spoken_language(body.room, body.token, body.language)
        return LanguageResponse(room=body.room, language=value)

    @post_json("/api/translation", TranslationRequest)
    async def translation(request: Request) -> TranslationResponse:
        body = await read_json(request, TranslationRequest)
        guard.authorize(request, body.passcode)
        service = _livekit_only(members, "no translations")
        target = await service.set_translation(body.room, body.token, body.target)
        return TranslationResponse(room=body.room, target=target)

    @app.get(
        "/api/rooms/{room}/transcript",
        dependencies=[Depends(guard.screen_read)],
        response_class=PlainTextResponse,
    )
    async def transcript(
        room: str,
        request: Request,
        fmt: Annotated[TranscriptFormat, Query(alias="format")] = "txt",
    ) -> Response:
        guard.authorize(request, request.headers.get(PASSCODE_HEADER))
        if not ROOM_PATTERN.fullmatch(room):
            raise HTTPException(400, "a room name is 1-64 letters, digits, '-' or '_'")
        if store is None or record is None:
            raise HTTPException(404, "this server keeps no transcripts (ROOMSCRIBE_STORE=off)")
        since = horizon(record.retention_s)
        segments = await asyncio.to_thread(store.segments, room, since=since)
        kept = [s for s in segments if s.text]
        if not kept:
            raise HTTPException(404, f"no transcript is kept for room {room}")
        body = render_transcript(fmt, transcript_lines(kept))
        return Response(
            body,
            media_type=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{room}.{fmt}"'},
        )

    if (options.web_dir / "index.html").is_file():
        app.mount("/", StaticFiles(directory=options.web_dir, html=True), name="web")
    else:
        page = NOT_BUILT_PAGE.format(path=options.web_dir)

        @app.get("/", response_class=HTMLResponse)
        async def not_built() -> str:
            return page

    return app


def _livekit_only(service: S | None, instead: str) -> S:
    """``service``, which only LiveKit mode has; in embedded mode 409, saying what to
    do ``instead``."""
    if service is None:
        raise HTTPException(409, f"the server runs in embedded mode: {instead}")
    return service


def _body(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a handler that reads ``model`` itself."""
    schema = {"application/json": {"schema": model.model_json_schema()}}
    return {"requestBody": {"required": True, "content": schema}}


@asynccontextmanager
async def _embedded(app: FastAPI, options: AppOptions, guard: AccessGuard) -> AsyncIterator[None]:
    """Load the engine, serve ``/api/offer``; on exit finalize sessions, close the engine."""
    from roomscribe.runtime import build_engine
    from roomscribe.server.embedded import EmbeddedService

    engine = await asyncio.to_thread(build_engine, options.asr or AsrOptions())
    engine.start()
    app.state.engine = engine
    metrics.watch(engine)
    service = EmbeddedService(engine, options.embedded or EmbeddedOptions(), access=guard)
    try:
        await service.start()
        added = _insert_routes(app, service.router.routes)
        try:
            yield
        finally:
            for route in added:
                app.router.routes.remove(route)
            await service.aclose()
    finally:
        await asyncio.to_thread(engine.close)


def _insert_routes(app: FastAPI, routes: list[BaseRoute]) -> list[BaseRoute]:
    """Add routes ahead of the catch-all static mount, which would otherwise shadow them."""
    all_routes: list[Any] = app.router.routes
    mounts = [i for i, r in enumerate(all_routes) if isinstance(r, Mount)]
    at = mounts[0] if mounts else len(all_routes)
    all_routes[at:at] = routes
    return list(routes)
