"""``roomscribe serve``: the web client and its API (LiveKit or embedded mode).

On a loopback address it needs no set-up. On any other address it starts only
with access control (a passcode or a trusted sign-on proxy header) or an
explicit ``--allow-open``, and exits 2 otherwise. ``--tls-cert``/``--tls-key``
serve HTTPS, which browsers require for the microphone anywhere but localhost.
"""

from __future__ import annotations

import argparse
import logging

from roomscribe.settings import Settings, add_settings

HELP = "serve the web client and its token API (embedded mode when no LiveKit is configured)"

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser, defaults: Settings) -> None:
    add_settings(parser, defaults, "host", "port", "web_dir")
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="caption over direct WebRTC in this process, without LiveKit "
        "(also the mode when LIVEKIT_URL is not set)",
    )
    add_settings(parser, defaults, "https", "access", "livekit", "store", "asr", "embedded")


def _tls_files(settings: Settings) -> tuple[str, str] | None:
    cert, key = settings.tls_cert, settings.tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise SystemExit("--tls-cert and --tls-key go together (ROOMSCRIBE_TLS_CERT/_KEY)")
    for path in (cert, key):
        if not path.is_file():
            raise SystemExit(f"TLS file not found: {path}")
    return str(cert), str(key)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from roomscribe.server.app import AppOptions, create_app
    from roomscribe.server.exposure import exposure_refusal, is_loopback

    access = settings.access()
    refusal = exposure_refusal(settings.host, access)
    if refusal is not None:
        log.error("%s", refusal)
        return 2
    tls = _tls_files(settings)
    if tls is None and not is_loopback(settings.host):
        log.warning(
            "serving plain HTTP on %s: browsers allow the microphone only on localhost or "
            "HTTPS%s; use --tls-cert/--tls-key or a TLS proxy (docker/Caddyfile)",
            settings.host,
            ", and the passcode is accepted from other machines only over HTTPS"
            if access.passcode_required
            else "",
        )
    livekit = None if args.embedded else settings.livekit()
    if livekit is None:
        options = AppOptions(
            asr=settings.asr(),
            embedded=settings.embedded(),
            web_dir=settings.web_dir,
            access=access,
        )
        log.info("embedded mode: captions over direct WebRTC, no LiveKit server")
    else:
        options = AppOptions(
            livekit=livekit, web_dir=settings.web_dir, access=access, record=settings.record()
        )
        log.info("LiveKit mode: %s", livekit.url)
    app = create_app(options)
    if access.passcode_required:
        log.info("a passcode is required to join")
    if access.trust_proxy_header:
        log.info("trusting the %s header of the sign-on proxy", access.trust_proxy_header)
    host = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
    log.info("open %s://%s:%d", "https" if tls else "http", host, settings.port)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info",
        log_config=None,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
        # The app handles X-Forwarded-* itself, from ROOMSCRIBE_TRUSTED_PROXIES only.
        proxy_headers=False,
    )
    return 0
