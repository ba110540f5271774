"""The ``roomscribe`` livekit-agents worker: one shared engine, one captioner per room.

Why the thread executor: the Whisper model and the VAD are loaded once per
worker process, and every room's tracks must feed that one engine so its
scheduler can batch them and its stream count is the worker's load. With the
process executor each job would run in its own process and load (or fork) its
own model, multiplying memory and fighting over the same CPU cores. Jobs here
are thin I/O adapters (audio in, text out); the CPU-heavy decoding happens in
the engine's own thread, so running jobs as threads of the worker process costs
no parallelism.

Dispatch is explicit (``agent_name="roomscribe"``) and every room gets exactly
one captioner, joining as :data:`~roomscribe.protocol.AGENT_IDENTITY`: a job
request is refused when this worker already serves the room or when the room
already has a participant with that identity (another worker's captioner).

Failures: every worker runs a :class:`~roomscribe.livekit.healer.DispatchHealer`
that re-dispatches rooms whose captioner died (LiveKit itself never does), and
``stop()`` (SIGTERM) drains: no new rooms, every room's last captions are
published, the rooms are left and handed to another worker at once.

A captioner beats only while captions can flow: when the engine dies or stalls
(:attr:`Engine.healthy`) the worker stops every heartbeat, hands each room to
another worker at once (its captioner removed, the dispatch renewed), and
``run()`` returns with :attr:`CaptionWorker.failed` set, so the process exits
non-zero and its supervisor (``restart: unless-stopped``, Kubernetes) starts a
fresh one: an engine thread that died does not come back in-process. The health
endpoint (``/`` on the health port) answers 503 meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from aiohttp import web
from livekit import rtc
from livekit.agents import AgentServer, AutoSubscribe, JobContext, JobExecutorType, JobRequest

from roomscribe import metrics, protocol
from roomscribe.asr.engine import Engine
from roomscribe.livekit.capacity import CapacityWaiters
from roomscribe.livekit.captioner import RoomCaptioner
from roomscribe.livekit.encryption import DecryptionWatch, KeyProvider, room_encryption
from roomscribe.livekit.healer import HEARTBEAT_S, DispatchHealer, HealerOptions
from roomscribe.livekit.joining import join
from roomscribe.livekit.publisher import PublisherOptions
from roomscribe.livekit.roster import WorkerRoster
from roomscribe.settings.livekit import LiveKitSettings
from roomscribe.store import RecordWriter

log = logging.getLogger(__name__)

ENGINE_CHECK_S = 0.5
"""How often the worker looks at its engine's health."""

LATE_BEAT_S = 1.5
"""A heartbeat this much later than due is logged (see ``_heartbeat``)."""

BEAT_ACK_WAIT_S = 2.0
"""Longest a beat waits for the server to acknowledge its attribute update before
the next beat goes out anyway. One update once took 5.0 s to be acknowledged on a
loaded 2-core machine (and never reached the other participants); waiting for it
made a live captioner look silent for 6 s, past the healers' 4 s."""

_RETRY_FOREVER = 2**31

LIVEKIT_TARGET_LOAD = 0.7
"""livekit-server's default ``agents.target_load``. The server offers a room only to
nodes whose workers report a load below it (weighted by the headroom left), so a
worker reporting 0.75 with a stream still free would get no room at all."""


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    livekit: LiveKitSettings
    health_port: int
    """Port of the worker's health endpoint; 0 picks a free one (the CLI's default is
    ``ROOMSCRIBE_HEALTH_PORT``'s, in :class:`roomscribe.settings.Settings`)."""
    health_host: str
    """Address of the health endpoint (``ROOMSCRIBE_HEALTH_HOST``, loopback by default:
    ``/metrics`` tells anyone who reaches it how busy the worker is)."""
    publisher: PublisherOptions = field(default_factory=PublisherOptions)
    healer: HealerOptions = field(default_factory=HealerOptions)
    record: RecordWriter | None = None
    """The transcript store's writer, started (``None``: each room's record in memory only)."""
    keys: KeyProvider | None = None
    """End-to-end encrypted rooms' keys (``ROOMSCRIBE_E2EE_KEY``; see :mod:`.encryption`):
    a room with a key is joined with it, its captions sent encrypted."""
    accept_grace_s: float = 15.0
    """A room accepted this recently counts as served even before its job starts."""
    shutdown_timeout_s: float = 20.0
    """How long a drain (SIGTERM) may take: rooms publish their last captions,
    leave and are handed over within it."""


@dataclass(slots=True)
class _Job:
    room: str
    captioner: RoomCaptioner
    ctx: JobContext
    loop: asyncio.AbstractEventLoop


class CaptionWorker:
    """Registers with LiveKit and captions every room it is dispatched to.

    ``await run()`` serves until ``stop()``; on stop the worker drains: it takes
    no new rooms, finalizes and publishes every room's pending captions, leaves
    the rooms and re-dispatches them so another worker carries on.
    """

    def __init__(self, engine: Engine, options: WorkerOptions) -> None:
        self._engine = engine
        self._opts = options
        self._lock = threading.Lock()  # jobs run in their own threads
        self._jobs: dict[str, _Job] = {}
        self._accepted: dict[str, float] = {}
        self._stop = asyncio.Event()
        self.failed = False
        """The engine failed: the rooms were abandoned; the process should exit non-zero."""
        self._roster = WorkerRoster(options.livekit, self._room_names)
        self._healer = DispatchHealer(
            options.livekit, options.healer, serving=self._captions, roster=self._roster
        )
        self._health = _HealthServer(options.health_host, options.health_port, self.healthy)
        self._capacity = CapacityWaiters()
        """Every room's tracks waiting for an engine stream; any room's release serves them."""
        metrics.watch(engine)
        metrics.TRACKS_WAITING.set_function(lambda: self._capacity.waiting)
        self._server = AgentServer(
            ws_url=options.livekit.url,
            api_key=options.livekit.api_key,
            api_secret=options.livekit.api_secret,
            job_executor_type=JobExecutorType.THREAD,
            num_idle_processes=1,
            # Our load is the share of engine streams in use; refuse rooms only
            # when every stream is taken (the CPU-based default would refuse
            # rooms on a 2-core machine that is busy decoding). Scaled to
            # LiveKit's target load: see reported_load.
            load_fnc=self.reported_load,
            load_threshold=LIVEKIT_TARGET_LOAD,
            # By default a worker gives up after 16 tries (about 2 minutes) and
            # exits; ours waits for the LiveKit server however long it is down,
            # retrying every 10 s, and registers again when it is back.
            max_retry=_RETRY_FOREVER,
            # Its own health endpoint cannot know the engine: ours (health_port)
            # replaces it, so this one listens on a free loopback port only.
            host="127.0.0.1",
            port=0,
        )
        self._server.rtc_session(
            self._entrypoint, agent_name=protocol.AGENT_NAME, on_request=self._on_request
        )

    def load(self) -> float:
        return self._engine.load

    def reported_load(self) -> float:
        """The load LiveKit sees: the share of streams in use, scaled so that a full
        worker reports :data:`LIVEKIT_TARGET_LOAD`."""
        return self._engine.load * LIVEKIT_TARGET_LOAD

    def healthy(self) -> bool:
        """Whether the engine still decodes (the health endpoint answers 503 if not)."""
        return not self.failed and self._engine.healthy

    @property
    def health_port(self) -> int:
        return self._health.port

    async def run(self) -> None:
        await self._health.start()
        await self._roster.start()
        await self._healer.start()
        run_task = asyncio.create_task(self._server.run(devmode=False), name="agent-server")
        stop_task = asyncio.create_task(self._stop.wait(), name="agent-stop")
        engine_task = asyncio.create_task(self._watch_engine(), name="engine-watch")
        try:
            await asyncio.wait(
                {run_task, stop_task, engine_task}, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stop_task.cancel()
            engine_task.cancel()
            if self.failed:
                await self._abandon()
            elif run_task.done():
                # no LiveKit connection: nothing to drain
                await self._finalize_rooms(self._opts.shutdown_timeout_s)
            else:
                await self._drain()
            await self._healer.aclose()
            await self._roster.aclose()
            await self._server.aclose()
            await self._health.aclose()
            await run_task

    def stop(self) -> None:
        """Drain and stop (SIGTERM, SIGINT)."""
        self._stop.set()

    async def _watch_engine(self) -> None:
        """Return (with :attr:`failed` set) once the engine is unhealthy."""
        while True:  # a thread's death sets no event loop's event
            await asyncio.sleep(ENGINE_CHECK_S)
            if not self._engine.healthy:
                break
        self.failed = True
        log.critical(
            "the recognition engine failed (%s); leaving every room to other workers and exiting",
            self._engine.failure or "stalled",
        )

    # -- dispatch --------------------------------------------------------------------

    async def _on_request(self, request: JobRequest) -> None:
        room = request.room.name
        if not self.healthy():
            await request.reject()
            return
        if self._serves(room) or await self._healer.has_captioner(room):
            log.info("room %s already has a captioner; refusing the dispatch", room)
            await request.reject()
            return
        with self._lock:
            self._accepted[room] = time.monotonic()
        await request.accept(identity=protocol.AGENT_IDENTITY, name="Captions")

    def _room_names(self) -> frozenset[str]:
        """The rooms this worker captions (what its roster beats say)."""
        with self._lock:
            return frozenset(job.room for job in self._jobs.values())

    def _captions(self, room: str) -> bool:
        """A job of this worker captions ``room`` right now."""
        with self._lock:
            return any(job.room == room for job in self._jobs.values())

    def _serves(self, room: str) -> bool:
        now = time.monotonic()
        with self._lock:
            if any(job.room == room for job in self._jobs.values()):
                return True
            accepted = self._accepted.get(room)
            return accepted is not None and now - accepted < self._opts.accept_grace_s

    # -- one job per room (runs in its own thread and event loop) ------------------

    async def _entrypoint(self, ctx: JobContext) -> None:
        job_id, room = ctx.job.id, ctx.job.room.name
        encryption = room_encryption(self._opts.keys, room)
        connect = ctx.connect(encryption=encryption, auto_subscribe=AutoSubscribe.SUBSCRIBE_NONE)
        # a job shut down while still joining must not kill the worker (see .joining)
        await join(connect, ctx.room.disconnect)
        publisher = self._opts.publisher
        watch: DecryptionWatch | None = None
        if encryption is not None:
            # the SDKs never encrypt legacy transcription packets: the SFU would read them
            publisher = replace(publisher, legacy_packets=False)
            watch = DecryptionWatch(ctx.room)
            watch.start()
            log.info("room %s: end-to-end encrypted, joined with its key", room)
        captioner = RoomCaptioner(
            self._engine,
            ctx.room,
            publisher,
            capacity=self._capacity,
            record=self._opts.record,
        )
        with self._lock:
            self._jobs[job_id] = _Job(room, captioner, ctx, asyncio.get_running_loop())
            self._accepted.pop(room, None)
            metrics.ROOMS.set(len(self._jobs))

        heartbeat = asyncio.create_task(
            _heartbeat(ctx.room, self._roster.identity, alive=self.healthy),
            name=f"heartbeat {room}",
        )

        async def on_shutdown() -> None:
            with self._lock:
                self._jobs.pop(job_id, None)
                metrics.ROOMS.set(len(self._jobs))
            heartbeat.cancel()
            await captioner.aclose()
            if watch is not None:
                watch.aclose()
            log.info("left room %s", room)

        ctx.add_shutdown_callback(on_shutdown)
        captioner.start()
        log.info("captioning room %s", room)

    # -- drain -------------------------------------------------------------------------

    async def _drain(self) -> None:
        """No new rooms; publish every room's last captions; leave; hand the rooms over."""
        # Reports the worker full to LiveKit at once, then waits for the jobs to end
        # (they end when we shut them down below).
        draining = asyncio.create_task(self._server.drain(timeout=None), name="agent-drain")
        deadline = time.monotonic() + self._opts.shutdown_timeout_s
        await self._finalize_rooms(self._opts.shutdown_timeout_s)
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            # the room is left before the job's shutdown callbacks run
            job.loop.call_soon_threadsafe(job.ctx.shutdown, "worker draining")
        left_s = max(1.0, deadline - time.monotonic())
        done, _ = await asyncio.wait({draining}, timeout=left_s)
        if not done:
            log.warning("rooms still open after %.0f s of draining", self._opts.shutdown_timeout_s)
            draining.cancel()
        elif draining.exception() is not None:
            log.error("draining failed", exc_info=draining.exception())
        for room in sorted({job.room for job in jobs}):
            await self._healer.hand_over(room)

    async def _abandon(self) -> None:
        """The engine failed: hand every room over now, without finalizing anything.

        Each room's captioner is removed through the server API rather than by
        leaving first (a stalled engine would hold up the pipelines' closes), so
        the other workers accept the new dispatch at once.
        """
        with self._lock:
            jobs = list(self._jobs.values())
        for room in sorted({job.room for job in jobs}):
            await self._healer.hand_over(room, remove_captioner=True)
        for job in jobs:
            job.loop.call_soon_threadsafe(job.ctx.shutdown, "engine failed")

    async def _finalize_rooms(self, timeout_s: float) -> None:
        """Publish every room's last captions while the rooms are still connected."""
        with self._lock:
            jobs = list(self._jobs.values())
        if not jobs:
            return
        log.info("finalizing captions in %d room(s)", len(jobs))
        futures = [
            asyncio.wrap_future(asyncio.run_coroutine_threadsafe(job.captioner.aclose(), job.loop))
            for job in jobs
        ]
        done, pending = await asyncio.wait(futures, timeout=timeout_s)
        for fut in pending:
            fut.cancel()
        for fut in done:
            if not fut.cancelled() and fut.exception() is not None:
                log.error("finalizing a room failed", exc_info=fut.exception())


async def _heartbeat(
    room: rtc.Room,
    worker: str = "",
    *,
    alive: Callable[[], bool] = lambda: True,
    every_s: float = HEARTBEAT_S,
    ack_wait_s: float = BEAT_ACK_WAIT_S,
) -> None:
    """Renew the captioner's heartbeat until cancelled or ``alive()`` turns false
    (the engine failed: no captions will come, so the beats stop; see :mod:`.healer`).
    Each beat also names the captioner's ``worker`` (its roster identity).

    A beat later than :data:`LATE_BEAT_S` is logged with where the time went: this
    job's event loop (blocked: the beat could not even start) or the server (the
    attribute update took that long), since other workers' healers will have seen
    the captioner silent for that long. An update not acknowledged within
    ``ack_wait_s`` is not waited for: the next beat sends a fresh value.
    """
    due = time.monotonic()
    while alive():
        started = time.monotonic()
        if room.isconnected():  # not while the room reconnects
            update = room.local_participant.set_attributes(
                {protocol.ATTR_HEARTBEAT: f"{time.time():.1f}", protocol.ATTR_WORKER: worker}
            )
            try:
                await asyncio.wait_for(update, ack_wait_s)
            except TimeoutError:
                log.info(
                    "heartbeat in %s: no acknowledgement within %.1f s; beating on",
                    room.name,
                    ack_wait_s,
                )
            except Exception as e:  # the next beat tries again
                log.debug("heartbeat in %s failed: %s", room.name, e)
        done = time.monotonic()
        if done - due > LATE_BEAT_S:
            log.warning(
                "heartbeat in %s late by %.1f s (event loop %.1f s, attribute update %.1f s)",
                room.name,
                done - due,
                started - due,
                done - started,
            )
        due = done + every_s
        await asyncio.sleep(every_s)


class _HealthServer:
    """The health port: ``GET /`` answers 200 ``OK``, or 503 when the worker is
    unhealthy; ``GET /metrics`` is Prometheus (:mod:`roomscribe.metrics`)."""

    def __init__(self, host: str, port: int, healthy: Callable[[], bool]) -> None:
        self._host = host
        self._port = port
        self._healthy = healthy
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._check)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host=self._host, port=self._port)
        await site.start()
        if self._port == 0:
            # Port 0 binds IPv4 and IPv6 on two different free ports: report IPv4's,
            # the one 127.0.0.1 and most probes reach.
            ipv4 = [a for a in self._runner.addresses if len(a) == 2]
            self._port = int((ipv4 or self._runner.addresses)[0][1])
        log.info("health endpoint on port %d of %s (/ and /metrics)", self._port, self._host)

    async def aclose(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, _: web.Request) -> web.Response:
        body = await asyncio.to_thread(metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    async def _check(self, _: web.Request) -> web.Response:
        if not self._healthy():
            return web.Response(status=503, text="caption engine is not running")
        return web.Response(text="OK")
