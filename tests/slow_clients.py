"""Real server processes on 127.0.0.1 and the slow clients that attack them: the CDS Hooks
service's and the web app's deadline tests share these."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answering(process: subprocess.Popen, url: str, log: Path, limit: float = 60) -> Any:
    """Wait until the server started as ``process`` answers ``url``; its first answer. Fails with
    the server's own output when it exits or does not answer within ``limit`` seconds."""
    import httpx  # the service's and the web app's extras bring it

    deadline = time.monotonic() + limit
    while True:
        assert process.poll() is None, "the server exited:\n" + log.read_text()
        assert time.monotonic() < deadline, f"the server did not answer in {limit:.0f} s:\n" + log.read_text()
        try:
            return httpx.get(url, timeout=1)
        except httpx.HTTPError:
            time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    """Stop a server started in its own session (its workers too): SIGINT, then SIGKILL after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def unfinished_heads(port: int, path: str, count: int) -> list[socket.socket]:
    """``count`` connections from one client, each sending a request head it never finishes."""
    sockets = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n".encode())
        sockets.append(s)
    return sockets


def trickle_body(sock: socket.socket, byte: bytes, limit: float = 10) -> tuple[bytes, float]:
    """Send ``byte`` every half second until the server answers (or ``limit`` seconds pass);
    the answer's first bytes and how long the server held the connection."""
    started = time.monotonic()
    sock.settimeout(0.5)
    answer = b""
    while time.monotonic() - started < limit and not answer:
        try:
            sock.sendall(byte)
            answer = sock.recv(200)
        except TimeoutError:
            continue
        except OSError:
            break
    return answer, time.monotonic() - started
