"""``roomscribe serve`` as a real process: who it refuses to serve, and HTTPS."""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fixtures.livekit import free_port

# LiveKit mode starts without contacting LiveKit (nothing listens there).
LIVEKIT = ["--livekit-url", f"ws://127.0.0.1:{free_port()}", "--api-key", "k",
           "--api-secret", "s" * 32]  # fmt: skip


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ROOMSCRIBE_", "LIVEKIT_")) and k != "FORWARDED_ALLOW_IPS"
    }
    return env | extra


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "roomscribe.cli", "serve", *args]


@contextmanager
def running(
    args: list[str], tmp_path: Path, env: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        serve_command(*args), env=dict(env), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, **kw: object) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "roomscribe serve did not come up"
        try:
            if httpx.get(f"{url}/healthz", timeout=1, **kw).status_code == 200:  # type: ignore[arg-type]
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


def test_refuses_a_network_address_without_access_control(tmp_path: Path) -> None:
    host = "0.0.0.0"
    r = subprocess.run(
        serve_command("--host", host, "--port", str(free_port()), *LIVEKIT),
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert f"refusing to listen on {host} without access control" in r.stderr
    for way_out in ("ROOMSCRIBE_PASSCODE", "--passcode", "--trust-proxy-header", "--allow-open"):
        assert way_out in r.stderr


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--allow-open"], {}),
        ([], {"ROOMSCRIBE_PASSCODE": "s3cret"}),
    ],
)
def test_starts_on_all_interfaces_with_a_way_out(
    args: list[str], env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    argv = ["--host", "0.0.0.0", "--port", str(port), *LIVEKIT, *args]
    with running(argv, tmp_path, clean_env(**env)) as proc:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, tmp_path / "serve.log")
        config = httpx.get(f"{url}/api/config").json()
        assert config["passcode_required"] is ("ROOMSCRIBE_PASSCODE" in env)
    assert proc.returncode == 0


def test_loopback_needs_no_set_up(tmp_path: Path) -> None:
    port = free_port()
    with running(["--port", str(port), *LIVEKIT], tmp_path, clean_env()) as proc:
        wait_healthy(f"http://127.0.0.1:{port}", proc, tmp_path / "serve.log")
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/token", json={"room": "r", "name": "Ada"}, timeout=30
        )
        assert r.status_code == 503  # no passcode asked; the (absent) LiveKit answered


def self_signed(tmp_path: Path, *also: str) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and the addresses ``also``, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    addresses = [ipaddress.ip_address(a) for a in ("127.0.0.1", *also)]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(a) for a in addresses]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_serves_https_with_a_certificate(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    port = free_port()
    env = clean_env(ROOMSCRIBE_TLS_CERT=str(cert), ROOMSCRIBE_TLS_KEY=str(key))
    with running(["--port", str(port), *LIVEKIT], tmp_path, env) as proc:
        url = f"https://127.0.0.1:{port}"
        trust = ssl.create_default_context(cafile=str(cert))
        wait_healthy(url, proc, tmp_path / "serve.log", verify=trust)
        r = httpx.get(f"{url}/healthz", verify=trust)
        assert r.json() == {"status": "ok", "mode": "livekit"}
        assert r.url.scheme == "https"
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)  # no plain HTTP there
    assert "open https://localhost:" in (tmp_path / "serve.log").read_text()
