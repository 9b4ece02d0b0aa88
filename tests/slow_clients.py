"""A slow client for the servers' deadline tests: a body sent one byte at a time."""

from __future__ import annotations

import socket
import time


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
