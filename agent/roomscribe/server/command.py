"""``roomscribe serve``: the web client and its API (LiveKit or embedded mode).

On a loopback address it needs no set-up. On any other address it starts only
with access control (a passcode or a trusted sign-on proxy header) or an
explicit ``--allow-open``, and exits 2 otherwise. ``--tls-cert``/``--tls-key``
serve HTTPS, which browsers require for the microphone anywhere but localhost.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from roomscribe.server.security import (
    access_from_args,
    add_access_arguments,
    exposure_refusal,
    is_loopback,
)
from roomscribe.settings import (
    add_asr_arguments,
    add_livekit_arguments,
    asr_from_args,
    livekit_from_args,
)

HELP = "serve the web client and its token API (embedded mode when no LiveKit is configured)"

log = logging.getLogger(__name__)

DEFAULT_WEB_DIR = Path(__file__).resolve().parents[3] / "web-client" / "dist"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # embedded.py owns its flags (importing it costs ~1 s of aiortc/fastapi imports)
    from roomscribe.server.embedded import add_embedded_arguments

    env = os.environ.get
    parser.add_argument(
        "--host", default=env("ROOMSCRIBE_HOST", "127.0.0.1"), help="[ROOMSCRIBE_HOST]"
    )
    parser.add_argument(
        "--port", type=int, default=int(env("ROOMSCRIBE_PORT", "8000")), help="[ROOMSCRIBE_PORT]"
    )
    parser.add_argument(
        "--web-dir",
        type=Path,
        default=Path(env("ROOMSCRIBE_WEB_DIR", str(DEFAULT_WEB_DIR))),
        help="the built web client [ROOMSCRIBE_WEB_DIR]",
    )
    parser.add_argument(
        "--embedded",
        action="store_true",
        help="caption over direct WebRTC in this process, without LiveKit "
        "(also the mode when LIVEKIT_URL is not set)",
    )
    g = parser.add_argument_group("HTTPS")
    g.add_argument(
        "--tls-cert",
        type=Path,
        default=_path(env("ROOMSCRIBE_TLS_CERT", "")),
        help="PEM certificate (chain): serve HTTPS [ROOMSCRIBE_TLS_CERT]",
    )
    g.add_argument(
        "--tls-key",
        type=Path,
        default=_path(env("ROOMSCRIBE_TLS_KEY", "")),
        help="PEM private key of --tls-cert [ROOMSCRIBE_TLS_KEY]",
    )
    add_access_arguments(parser)
    add_livekit_arguments(parser)
    add_asr_arguments(parser)
    add_embedded_arguments(parser)


def _path(value: str) -> Path | None:
    return Path(value).expanduser() if value else None


def _tls_files(args: argparse.Namespace) -> tuple[str, str] | None:
    cert, key = args.tls_cert, args.tls_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise SystemExit("--tls-cert and --tls-key go together (ROOMSCRIBE_TLS_CERT/_KEY)")
    for path in (cert, key):
        if not path.is_file():
            raise SystemExit(f"TLS file not found: {path}")
    return str(cert), str(key)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from roomscribe.server.app import AppOptions, create_app

    access = access_from_args(args)
    refusal = exposure_refusal(args.host, access)
    if refusal is not None:
        log.error("%s", refusal)
        return 2
    tls = _tls_files(args)
    if tls is None and not is_loopback(args.host):
        log.warning(
            "serving plain HTTP on %s: browsers allow the microphone only on localhost or "
            "HTTPS; use --tls-cert/--tls-key or a TLS proxy (docker/Caddyfile)",
            args.host,
        )
    livekit = None if args.embedded else livekit_from_args(args)
    if livekit is None:
        from roomscribe.server.embedded import embedded_options_from_args

        options = AppOptions(
            asr=asr_from_args(args),
            embedded=embedded_options_from_args(args),
            web_dir=args.web_dir,
            access=access,
        )
        log.info("embedded mode: captions over direct WebRTC, no LiveKit server")
    else:
        options = AppOptions(livekit=livekit, web_dir=args.web_dir, access=access)
        log.info("LiveKit mode: %s", livekit.url)
    app = create_app(options)
    if access.passcode_required:
        log.info("a passcode is required to join")
    if access.trust_proxy_header:
        log.info("trusting the %s header of the sign-on proxy", access.trust_proxy_header)
    host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    log.info("open %s://%s:%d", "https" if tls else "http", host, args.port)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        log_config=None,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    return 0
