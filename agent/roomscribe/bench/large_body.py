"""How ``roomscribe serve`` takes a 100 MB ``POST``: time to the answer and server RSS.

    python -m roomscribe.bench.large_body [--mib 100]

Starts ``roomscribe serve`` (the one on ``PYTHONPATH``) on a free loopback port in
LiveKit mode (no LiveKit needed), sends the body to ``/api/token`` and
``/api/vocabulary`` (declared length, then chunked) while reading the answer, and
prints the status, the seconds until it came and the server's RSS before and after.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import psutil


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def upload(port: int, path: str, size: int, *, chunked: bool) -> tuple[str, float]:
    """POST ``size`` bytes of JSON-looking junk to ``path``; returns the status line and
    the seconds until it came.

    A thread sends the body while this one waits for the answer, as a client does
    that reads the response before it has finished sending.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\n{length}\r\n\r\n".encode()
    )
    block = b'{"room": "' + b"x" * (1 << 20)

    def send() -> None:
        sent = 0
        try:
            while sent < size:
                data = block[: size - sent]
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed: what we want

    start = time.monotonic()
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    while b"\r\n" not in answer:
        data = sock.recv(4096)
        if not data:
            break
        answer += data
    elapsed = time.monotonic() - start
    sock.close()
    sender.join(120)
    return answer.split(b"\r\n", 1)[0].decode(errors="replace"), elapsed


def main() -> None:
    """Run the measurement and print a line per route and body framing."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=100)
    size = parser.parse_args().mib << 20
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROOMSCRIBE_", "LIVEKIT_"))}
    cmd = [sys.executable, "-m", "roomscribe.cli", "serve", "--port", str(port)]
    cmd += ["--livekit-url", f"ws://127.0.0.1:{free_port()}", "--api-key", "k"]
    cmd += ["--api-secret", "s" * 32, "--rate-limit", "off"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        server = psutil.Process(proc.pid)
        for path in ("/api/token", "/api/vocabulary"):
            for chunked in (False, True):
                before = server.memory_info().rss
                status, seconds = upload(port, path, size, chunked=chunked)
                time.sleep(0.5)  # let the server finish with whatever it read
                after = server.memory_info().rss
                print(
                    f"{path:16} {'chunked' if chunked else 'length ':7} {status:40} "
                    f"{seconds:6.3f} s  RSS {before / 2**20:6.1f} -> {after / 2**20:6.1f} MiB "
                    f"(+{(after - before) / 2**20:.1f})"
                )
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


if __name__ == "__main__":
    main()
